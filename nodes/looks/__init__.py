"""The looks that the composite node draws (one per file): blur, replace, colour pop, poster, ...

Not for: loading recipes (recipes/) or mask work (nodes/fringe.py).
"""
