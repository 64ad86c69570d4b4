"""Example plugin nodes for portraitflow, registered by entry points: mirror (frame only), spotlight (frame + mask)."""
