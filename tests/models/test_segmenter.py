"""The Segmenter's input tensor and its input-pass contract: what a caller's pass is handed (the manifest's
layout, colour order, gain and offset, the Segmenter's own buffer), what prepare() returns with it, and
that a bad pass or frame is named. The compiled pass itself: tests/nodes/test_model_input_pass.py.

Not for: the models' values (test_tflite_to_onnx.py) or the masks (tests/nodes/test_segment.py).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.models.manifest import load_manifest
from portraitflow.models.registry import find_model
from portraitflow.models.segmenter import Segmenter, corner_mapped_warp_maps

from support.paths import PARITY

MANIFEST = """
[input]
name = "image"
width = 8
height = 6
layout = "NCHW"
color_order = "BGR"
scale = 0.00392156862745098
mean = [0.5, 0.0, 0.25]
std = [0.25, 1.0, 0.5]

[output]
kind = "softmax"
layout = "NCHW"
person_channel = 1
"""


def write_tiny_model(tmp_path):
    """A real 8x6 NCHW ONNX model (test_manifest.py's tiny softmax model) and its manifest."""
    import onnx
    from onnx import TensorProto, helper

    weight = np.zeros((2, 3, 1, 1), np.float32)
    weight[1, 0, 0, 0] = 1.0
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["logits"], kernel_shape=[1, 1])], "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 6, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, 6, 8])],
        initializer=[onnx.numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "tiny.onnx"))
    (tmp_path / "tiny.toml").write_text(MANIFEST)
    return load_manifest(tmp_path / "tiny.toml"), tmp_path / "tiny.onnx"


def test_an_input_pass_gets_the_manifests_contract_and_fills_the_segmenters_buffer(tmp_path):
    manifest, onnx_path = write_tiny_model(tmp_path)
    calls = []

    def levels_only(frame, out, layout, color_order, gain, offset):
        """A pass of a caller's own: nearest-neighbour, so its tensor differs from the OpenCV path's."""
        calls.append((frame, out, layout, color_order, gain.copy(), offset.copy()))
        small = cv2.resize(frame[..., :3], (out.shape[3], out.shape[2]), interpolation=cv2.INTER_NEAREST)
        out[0] = np.moveaxis(small.astype(np.float32) * gain + offset, -1, 0)

    frame = cv2.imread(str(PARITY / "camera_512.png"))
    own = Segmenter(manifest, onnx_path, input_pass=levels_only)
    tensor = own.prepare(frame)
    (seen, out, layout, order, gain, offset), = calls
    assert seen is frame and out is tensor and tensor.shape == (1, 3, 6, 8)
    assert (layout, order) == ("NCHW", "BGR")
    np.testing.assert_allclose(gain, np.float32(1 / 255) / np.float32([0.25, 1.0, 0.5]), rtol=1e-7)
    np.testing.assert_allclose(offset, [-2.0, 0.0, -0.5], rtol=1e-7)
    assert gain.dtype == offset.dtype == np.float32
    reference = Segmenter(manifest, onnx_path).prepare(frame)
    assert not np.array_equal(tensor, reference)          # the caller's pass made it, not the OpenCV path
    mask = own.run(tensor)
    assert mask.shape == (6, 8) and mask.dtype == np.float32


def test_no_offset_is_handed_to_a_pass_when_the_manifest_has_none(model_cache):
    model = find_model("selfie_landscape", model_cache)
    offsets = []
    segmenter = Segmenter(model.manifest, model.onnx_path,
                          input_pass=lambda frame, out, layout, order, gain, offset: offsets.append(offset))
    segmenter.prepare(np.zeros((720, 1280, 3), np.uint8))
    assert offsets == [None]


def test_the_opencv_path_is_mediapipes_corner_mapped_warp(model_cache):
    """Without a pass: cv2.remap with the fixed-point maps, in RGB, over 255 (the parity tests' warp)."""
    model = find_model("selfie_landscape", model_cache)
    frame = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    tensor = Segmenter(model.manifest, model.onnx_path).prepare(frame)
    maps = corner_mapped_warp_maps((1280, 720), (256, 144))
    warped = cv2.remap(frame, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    expected = cv2.cvtColor(warped, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1 / 255)
    assert np.array_equal(tensor[0], expected)


def test_a_pass_that_is_not_callable_is_named(model_cache):
    model = find_model("selfie_landscape", model_cache)
    with pytest.raises(TypeError, match="input_pass must be callable or None, got str"):
        Segmenter(model.manifest, model.onnx_path, input_pass="compiled")
