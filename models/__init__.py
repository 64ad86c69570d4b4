"""Segmentation models: fetch and cache, the tflite->onnx converter, manifests and the registry.

Not for: running a model inside a graph (nodes/segment.py does that).
"""
