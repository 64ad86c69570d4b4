"""Sources and sinks: video files, images, cameras, the bundled sample, video/PNG/preview/null sinks.

Not for: processing between capture and sink (nodes/).
"""
