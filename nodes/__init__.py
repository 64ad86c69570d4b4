"""The stages between capture and sink, one per file: downscale, segment, smooth, fringe, composite.

Not for: sources and sinks (devices/) or the runtime (graph/).
"""
