"""Edges that cross a process or machine boundary over ZeroMQ: wire format, credits, security, clocks.

Not for: in-process edges (graph/stream.py); a graph run in one process never touches this package.
"""
