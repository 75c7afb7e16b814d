"""exomir.identity"""
