"""Example plugin nodes for portraitflow, registered by entry points: mirror (a frame only) and
spotlight (a frame and its mask)."""
