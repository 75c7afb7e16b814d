"""exomir.report"""
