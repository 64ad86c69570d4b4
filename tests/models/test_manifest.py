"""Model manifests and user models: validation errors name file and field; a user's ONNX model with
another layout, colour order, normalisation and output kind runs without code.

Not for: the built-in models' values (test_tflite_to_onnx.py, tests/nodes/test_segment.py).
"""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from portraitflow.graph.errors import ConfigError
from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.models.manifest import load_manifest
from portraitflow.models.registry import all_models, builtin_models, find_model
from portraitflow.models.segmenter import Segmenter
from portraitflow.nodes.segment import Segment

GOOD = """
description = "a test model"
preferred_aspect = "4:3"

[input]
name = "image"
width = 8
height = 6
layout = "NCHW"
color_order = "BGR"
scale = 0.00392156862745098
mean = [0.5, 0.0, 0.0]
std = [0.25, 1.0, 1.0]

[output]
kind = "softmax"
layout = "NCHW"
person_channel = 1
"""


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_builtin_manifests_are_valid_and_pinned():
    models = builtin_models(__import__("pathlib").Path("/nonexistent"))
    assert set(models) == {"selfie_general", "selfie_landscape"}
    landscape = models["selfie_landscape"].manifest
    assert (landscape.width, landscape.height) == (256, 144)
    assert (landscape.layout, landscape.color_order) == ("NHWC", "RGB")
    assert landscape.output_kind == "probability" and math.isclose(landscape.preferred_aspect, 16 / 9)
    assert landscape.source.wheel == "mediapipe==0.10.14" and len(landscape.source.member_sha256) == 64


def test_a_good_manifest_parses(tmp_path):
    m = load_manifest(write(tmp_path, "tiny", GOOD))
    assert (m.name, m.input_name, m.width, m.height) == ("tiny", "image", 8, 6)
    assert (m.layout, m.color_order) == ("NCHW", "BGR")
    assert m.mean == (0.5, 0.0, 0.0) and m.person_channel == 1 and math.isclose(m.preferred_aspect, 4 / 3)


@pytest.mark.parametrize("old, new, field, says", [
    ("width = 8\n", "", "input.width", "missing required field"),
    ("width = 8", "width = 0", "input.width", "positive integer"),
    ("width = 8", 'width = "8"', "input.width", "expected int, got str"),
    ('layout = "NCHW"\ncolor', 'layout = "NHCW"\ncolor', "input.layout", "one of NHWC, NCHW"),
    ('color_order = "BGR"', 'color_order = "bgr"', "input.color_order", "one of RGB, BGR"),
    ('kind = "softmax"', 'kind = "sigmoid"', "output.kind", "one of probability, logits, softmax"),
    ("mean = [0.5, 0.0, 0.0]", "mean = [0.5, 0.0]", "input.mean", "list of 3 numbers"),
    ("std = [0.25, 1.0, 1.0]", "std = [0.0, 1.0, 1.0]", "input.std", "non-zero"),
    ("person_channel = 1", "person_channel = -1", "output.person_channel", ">= 0"),
    ('preferred_aspect = "4:3"', 'preferred_aspect = "wide"', "preferred_aspect", "'W:H'"),
    ('description = "a test model"', 'descripton = "typo"', "descripton", "unknown field"),
    ("[output]", "[output]\nactivation = 1", "output.activation", "unknown field"),
])
def test_a_bad_manifest_names_the_file_and_the_field(tmp_path, old, new, field, says):
    assert old in GOOD
    path = write(tmp_path, "bad", GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{field}: ") and says in message
    assert caught.value.field == field and caught.value.file == str(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "broken", "[input\nname = 1")
    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML"):
        load_manifest(path)


def test_a_user_model_may_not_shadow_a_builtin(tmp_path):
    path = write(tmp_path / "user", "selfie_general", GOOD)
    with pytest.raises(ConfigError, match=f"{path}.*name of a built-in"):
        all_models(tmp_path)


def tiny_softmax_model(path) -> None:
    """A real ONNX model: NCHW input; channel 0 of its 2-class logits is 0, channel 1 is the input's
    first channel, so softmax's person channel is sigmoid(first input channel)."""
    weight = np.zeros((2, 3, 1, 1), np.float32)
    weight[1, 0, 0, 0] = 1.0
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["logits"], kernel_shape=[1, 1])], "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 6, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, 6, 8])],
        initializer=[onnx.numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.fixture
def user_cache(tmp_path):
    write(tmp_path / "user", "tiny", GOOD)
    tiny_softmax_model(tmp_path / "user" / "tiny.onnx")
    return tmp_path


def test_a_user_model_runs_with_its_own_contract(user_cache):
    model = find_model("tiny", user_cache)
    assert not model.builtin and model.present
    frame = np.empty((6, 8, 3), np.uint8)
    frame[...] = (200, 10, 50)  # B, G, R
    mask = Segmenter(model.manifest, model.onnx_path)(frame)
    assert mask.dtype == np.float32 and mask.shape == (6, 8)
    blue = (200 / 255 - 0.5) / 0.25  # BGR order, the manifest's scale, mean and std
    np.testing.assert_allclose(mask, 1 / (1 + np.exp(-blue)), rtol=1e-5)


def test_a_user_model_as_logits_and_through_the_node(user_cache, monkeypatch):
    path = user_cache / "user" / "tiny.toml"
    path.write_text(GOOD.replace('kind = "softmax"', 'kind = "logits"'))
    frame = np.full((12, 16, 3), (10, 20, 30), np.uint8)
    monkeypatch.setenv("PORTRAITFLOW_CACHE", str(user_cache))
    out = run_node(make_node(Segment, {"model": "tiny"}), {"frame": packets([frame])})["mask"][0]
    assert out.meta["model"] == "tiny" and out.payload.shape == (6, 8)
    blue = (10 / 255 - 0.5) / 0.25  # logits channel 1 is the input's first (blue) channel
    np.testing.assert_allclose(out.payload, 1 / (1 + np.exp(-blue)), rtol=1e-5)


def test_a_manifest_that_does_not_fit_its_model_names_the_field(user_cache):
    path = user_cache / "user" / "tiny.toml"
    path.write_text(GOOD.replace('name = "image"', 'name = "input"'))
    model = find_model("tiny", user_cache)
    with pytest.raises(ConfigError, match=f"{path}:input.name: the model has no input 'input'"):
        Segmenter(model.manifest, model.onnx_path)
    path.write_text(GOOD.replace("width = 8", "width = 16"))
    model = find_model("tiny", user_cache)
    with pytest.raises(ConfigError, match=f"{path}:input: manifest says NCHW 16x6"):
        Segmenter(model.manifest, model.onnx_path)
