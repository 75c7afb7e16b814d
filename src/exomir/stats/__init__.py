"""exomir.stats"""
