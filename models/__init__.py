"""Segmentation models: fetch and cache, the tflite->onnx converter, manifests and the registry.

Not for: running a model inside a graph (nodes/segment.py does that).

Cache: $PORTRAITFLOW_CACHE, else $XDG_CACHE_HOME/portraitflow/models (~/.cache/portraitflow/models).
A user model is `<cache>/user/NAME.toml` (see manifest.py for the fields) with `NAME.onnx` beside it.
"""
