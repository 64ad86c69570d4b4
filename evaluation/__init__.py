"""Mask quality measured: metrics (IoU, boundary F, flicker, lag), test clips with known motion, reports.

Not for: anything on the live path; nodes never import this.
"""
