"""exomir.kb"""
