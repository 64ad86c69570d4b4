"""An example plugin package for portraitflow: one node, registered by an entry point."""
