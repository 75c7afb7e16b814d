"""exomir.io"""
