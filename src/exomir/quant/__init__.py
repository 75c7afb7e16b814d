"""exomir.quant"""
