"""firmware_protocols"""
