"""The tflite->onnx converter on MediaPipe's real models: values match MediaPipe's own masks.

Not for: pre-processing or the node (tests/nodes/test_segment.py covers the full frame).
"""
from __future__ import annotations

import zipfile

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from portraitflow.graph.errors import ModelError
from portraitflow.models import tflite_to_onnx
from portraitflow.models.registry import builtin_models
from portraitflow.models.tflite_to_onnx import convert_tflite

from support.paths import PARITY

IMAGES = ["astronaut_512", "camera_512", "coffee_noperson_600x400", "astronaut_in_coffee_1280x720"]
MEDIAPIPE_KEY = {"selfie_general": "selfie_segmentation", "selfie_landscape": "selfie_segmentation_landscape"}


@pytest.fixture(scope="module")
def tflite_models(mediapipe_wheel, tmp_path_factory) -> dict[str, bytes]:
    models = builtin_models(tmp_path_factory.mktemp("unused"))
    with zipfile.ZipFile(mediapipe_wheel) as wheel:
        return {name: wheel.read(m.manifest.source.member) for name, m in models.items()}


def model_level_inputs(width: int, height: int) -> dict[str, np.ndarray]:
    """The parity fixtures' model-level input: cv2.resize(rgb, (W, H), INTER_AREA) / 255, NHWC."""
    out = {}
    for image in IMAGES:
        rgb = cv2.cvtColor(cv2.imread(str(PARITY / f"{image}.png")), cv2.COLOR_BGR2RGB)
        small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        out[image] = (small.astype(np.float32) / 255.0)[None]
    return out


def max_diff_vs_mediapipe(model: onnx.ModelProto, name: str) -> float:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    _, height, width, _ = (d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim)
    worst = 0.0
    for image, tensor in model_level_inputs(width, height).items():
        mask = session.run(None, {"input_1": tensor})[0][0, :, :, 0]
        reference = np.load(PARITY / f"{image}.mediapipe_masks.npz")[f"{MEDIAPIPE_KEY[name]}__modelsize"]
        assert mask.shape == reference.shape
        worst = max(worst, float(np.abs(mask - reference).max()))
    return worst


@pytest.mark.parametrize("name", ["selfie_general", "selfie_landscape"])
def test_converted_model_matches_mediapipe_at_model_level(tflite_models, name):
    model = convert_tflite(tflite_models[name], name)
    assert max_diff_vs_mediapipe(model, name) <= 1e-3


@pytest.mark.parametrize("name", ["selfie_general", "selfie_landscape"])
def test_converted_model_is_checked_opset17_float32_nhwc(tflite_models, name):
    model = convert_tflite(tflite_models[name], name)
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    assert {t.data_type for t in model.graph.initializer} <= {onnx.TensorProto.FLOAT, onnx.TensorProto.INT64}
    ops = {n.op_type for n in model.graph.node}
    assert "ConvTranspose" in ops and "HardSwish" in ops
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] == 1 and dims[3] == 3  # NHWC at the edge, like the original
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][3] == 1


def test_a_flipped_transposed_conv_kernel_fails_the_value_comparison(tflite_models, monkeypatch):
    """A wrong kernel layout still gives a plausible mask (IoU > 0.9), so only values catch it."""
    original = tflite_to_onnx.transposed_conv_weight_to_onnx
    monkeypatch.setattr(tflite_to_onnx, "transposed_conv_weight_to_onnx",
                        lambda ohwi: np.ascontiguousarray(original(ohwi)[:, :, ::-1, ::-1]))
    flipped = convert_tflite(tflite_models["selfie_general"], "selfie_general")
    assert max_diff_vs_mediapipe(flipped, "selfie_general") > 1e-2


def with_op_replaced(buffer: bytes, old_code: int, new_code: int) -> bytes:
    """The flatbuffer with one operator code rewritten in place (both of its code fields)."""
    import tflite
    data = bytearray(buffer)
    model = tflite.Model.GetRootAsModel(bytes(buffer), 0)
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) != old_code:
            continue
        for slot, fmt in ((4, "<b"), (10, "<i")):  # deprecated_builtin_code (int8), builtin_code (int32)
            offset = code._tab.Offset(slot)
            if offset:
                np.frombuffer(data, dtype=fmt, count=1, offset=code._tab.Pos + offset)  # bounds check
                data[code._tab.Pos + offset:code._tab.Pos + offset + np.dtype(fmt).itemsize] = \
                    np.array([new_code], dtype=fmt).tobytes()
        return bytes(data)
    raise AssertionError(f"op code {old_code} not in the model")


def test_an_unknown_op_names_the_op_and_the_model(tflite_models):
    from tflite.BuiltinOperator import BuiltinOperator
    broken = with_op_replaced(tflite_models["selfie_landscape"], BuiltinOperator.HARD_SWISH,
                              BuiltinOperator.SQUARE)
    with pytest.raises(ModelError, match=r"'selfie_landscape'.*unsupported TFLite op SQUARE"):
        convert_tflite(broken, "selfie_landscape")


def test_garbage_is_not_a_model():
    with pytest.raises(ModelError, match="'junk'"):
        convert_tflite(b"\x00" * 64, "junk")
