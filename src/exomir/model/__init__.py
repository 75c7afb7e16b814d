"""exomir.model"""
