"""portraitflow: a real-time dataflow graph that turns a live selfie into a designed portrait.

Subpackages: graph (runtime), nodes (stages), models (segmentation models), recipes (designs),
devices (sources and sinks), cli (the command line). Importing this package downloads nothing.
"""
__version__ = "0.1.0"
