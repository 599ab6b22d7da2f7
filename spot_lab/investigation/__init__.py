"""investigation"""
