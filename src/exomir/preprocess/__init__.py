"""exomir.preprocess"""
