"""exomir.web"""
