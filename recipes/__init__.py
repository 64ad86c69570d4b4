"""Designs: one declarative file per look, and the small code that loads them into a graph.

Not for: pixel work (nodes/composite.py and friends do that).
"""
