"""Run one segmentation model on a BGR frame: MediaPipe's warp, the manifest's normalisation,
onnxruntime, and the output turned into a float32 person probability at the model's resolution.

Not for: graph plumbing (nodes/segment.py) or upscaling the mask to frame size (the fringe stage does).
The input tensor is made here with OpenCV and numpy, or by an input pass the caller hands in (the segment
node gives nodes/model_input_pass.c's compiled one: models/ imports nothing of nodes/), which must give
this path's tensor bit for bit.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from ..graph.errors import ConfigError, ModelError
from .manifest import ModelManifest


def session_options(threads: int) -> ort.SessionOptions:
    """Graph optimisations on (they halve the run time); one sequential inter-op thread so a 1-thread
    segmenter leaves the second core to the other stages."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return options


def corner_mapped_warp_maps(frame_size: tuple[int, int], model_size: tuple[int, int]
                            ) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps for MediaPipe's ImageToTensor warp: the frame's pixel corners onto the model's
    (``warpAffine(frame, [[W/w, 0, 0], [0, H/h, 0]], (W, H), INTER_LINEAR, BORDER_CONSTANT)``).

    Why remap and not warpAffine: MediaPipe's OpenCV samples at fixed-point positions (1/32 pixel)
    with fixed-point weights; OpenCV >= 4.11 warps at exact float positions, which for non-integer
    scales (600x400 -> 256x256) moves the mask enough to drop IoU against MediaPipe to 0.996.
    convertMaps to CV_16SC2 quantises exactly as the old warp did, on every OpenCV version."""
    (w, h), (width, height) = frame_size, model_size
    map_x = np.empty((height, width), np.float32)
    map_y = np.empty((height, width), np.float32)
    map_x[...] = np.arange(width, dtype=np.float64)[None, :] * (w / width)
    map_y[...] = np.arange(height, dtype=np.float64)[:, None] * (h / height)
    return cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)


#: an input pass: ``(frame, out, layout, color_order, gain, offset or None)`` fills ``out`` (the float32
#: tensor) with what Segmenter's own path makes of the frame: MediaPipe's warp to the model's size
#: (``corner_mapped_warp_maps``' cv2.remap), the channels in ``color_order``, each level times ``gain`` and
#: plus ``offset`` in float32 (3 each, in the model's order). nodes/model_input_pass.c's model_input is one.
InputPass = Callable[[np.ndarray, np.ndarray, str, str, np.ndarray, "np.ndarray | None"], None]


class Segmenter:
    """A loaded model. Call it with a uint8 HxWx3 BGR (or HxWx4 BGRA) frame; it returns a new
    float32 mask (model height x model width, person = 1) that the caller may keep.

    ``input_pass`` (see InputPass): makes the input tensor in one pass instead of the OpenCV calls here
    (the same tensor; None: those calls). Not thread-safe: it reuses its warp and input buffers between
    calls (one per node)."""

    def __init__(self, manifest: ModelManifest, onnx_path: str | Path, threads: int = 1,
                 input_pass: InputPass | None = None):
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if input_pass is not None and not callable(input_pass):
            raise TypeError(f"input_pass must be callable or None, got {type(input_pass).__name__}")
        self.manifest = manifest
        self.input_pass = input_pass
        self.onnx_path = Path(onnx_path)
        try:
            self.session = ort.InferenceSession(str(self.onnx_path), sess_options=session_options(threads),
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"model {manifest.name!r}: cannot load {self.onnx_path}: {exc}") from exc
        self._check_contract()
        m = manifest
        self.size = (m.width, m.height)
        self._maps_for: tuple[int, int] | None = None
        self._maps: tuple[np.ndarray, np.ndarray] | None = None
        self._warped: np.ndarray | None = None
        self._ordered = np.empty((m.height, m.width, 3), np.uint8)
        shape = (1, m.height, m.width, 3) if m.layout == "NHWC" else (1, 3, m.height, m.width)
        self._input = np.empty(shape, np.float32)
        self._input_hwc = self._input[0] if m.layout == "NHWC" else self._input[0].transpose(1, 2, 0)
        std = np.asarray(m.std, np.float32)
        self._gain = (np.float32(m.scale) / std).astype(np.float32)
        self._offset = (-np.asarray(m.mean, np.float32) / std).astype(np.float32)
        self._has_offset = bool(np.any(self._offset))
        self._uniform_gain = bool(np.all(self._gain == self._gain[0]))
        self._pass_offset = self._offset if self._has_offset else None

    def _check_contract(self) -> None:
        m = self.manifest
        inputs = {i.name: i for i in self.session.get_inputs()}
        if m.input_name not in inputs:
            raise ConfigError(f"the model has no input {m.input_name!r} (it has {', '.join(inputs)})",
                              file=str(m.path), field="input.name")
        expected = [1, m.height, m.width, 3] if m.layout == "NHWC" else [1, 3, m.height, m.width]
        actual = inputs[m.input_name].shape
        if len(actual) != 4 or any(isinstance(a, int) and a != e for a, e in zip(actual, expected)):
            raise ConfigError(f"manifest says {m.layout} {m.width}x{m.height}, i.e. {expected}, but the "
                              f"model's input is {actual}", file=str(m.path), field="input")
        outputs = [o.name for o in self.session.get_outputs()]
        if m.output_name is not None and m.output_name not in outputs:
            raise ConfigError(f"the model has no output {m.output_name!r} (it has {', '.join(outputs)})",
                              file=str(m.path), field="output.name")
        self.output_name = m.output_name or outputs[0]

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """The model's input tensor for a frame (a reused buffer: valid until the next call)."""
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] not in (3, 4) \
                or frame.dtype != np.uint8:
            got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ValueError(f"expected a uint8 HxWx3 BGR (or HxWx4 BGRA) frame, got {got}")
        if self.input_pass is not None:
            m = self.manifest
            self.input_pass(frame, self._input, m.layout, m.color_order, self._gain, self._pass_offset)
            return self._input
        return self._prepare_with_opencv(frame)

    def _prepare_with_opencv(self, frame: np.ndarray) -> np.ndarray:
        """prepare()'s own path: cv2.remap, cvtColor, np.multiply (and the offset added)."""
        h, w = frame.shape[:2]
        if self._maps_for != (w, h):
            self._maps = corner_mapped_warp_maps((w, h), self.size)
            self._maps_for = (w, h)
        if self._warped is None or self._warped.shape[2] != frame.shape[2]:
            self._warped = np.empty((self.size[1], self.size[0], frame.shape[2]), np.uint8)
        if (w, h) == self.size:   # already the model's size (a letterboxed gate input): the warp is the identity
            self._warped[...] = frame
        else:
            cv2.remap(frame, self._maps[0], self._maps[1], cv2.INTER_LINEAR, dst=self._warped,
                      borderMode=cv2.BORDER_CONSTANT)
        four = frame.shape[2] == 4
        if self.manifest.color_order == "RGB":
            cv2.cvtColor(self._warped, cv2.COLOR_BGRA2RGB if four else cv2.COLOR_BGR2RGB, dst=self._ordered)
        elif four:
            cv2.cvtColor(self._warped, cv2.COLOR_BGRA2BGR, dst=self._ordered)
        else:
            self._ordered[...] = self._warped
        if self._uniform_gain:
            np.multiply(self._ordered, self._gain[0], out=self._input_hwc, casting="unsafe")
        else:
            np.multiply(self._ordered, self._gain, out=self._input_hwc, casting="unsafe")
        if self._has_offset:
            self._input_hwc += self._offset
        return self._input

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """The model on a ready input tensor, as a float32 person probability at model resolution."""
        raw = self.session.run([self.output_name], {self.manifest.input_name: tensor})[0]
        return self.to_probability(raw)

    def to_probability(self, raw: np.ndarray) -> np.ndarray:
        m = self.manifest
        if raw.ndim != 4:
            raise ModelError(f"model {m.name!r}: expected a 4-d output, got shape {raw.shape}")
        channels = np.moveaxis(raw[0], -1, 0) if m.output_layout == "NHWC" else raw[0]
        if m.person_channel >= channels.shape[0]:
            raise ConfigError(f"person_channel {m.person_channel} but the output has {channels.shape[0]} "
                              f"channels", file=str(m.path), field="output.person_channel")
        if m.output_kind == "probability":
            # a view of a fresh onnxruntime array: no copy; contiguous whenever the output has 1 channel
            return np.ascontiguousarray(channels[m.person_channel], dtype=np.float32)
        if m.output_kind == "logits":
            logits = channels[m.person_channel].astype(np.float32)
            np.negative(logits, out=logits)
            np.exp(logits, out=logits)
            logits += 1.0
            return np.reciprocal(logits, out=logits)
        shifted = channels.astype(np.float32) - channels.max(axis=0, keepdims=True)
        np.exp(shifted, out=shifted)
        return np.ascontiguousarray(shifted[m.person_channel] / shifted.sum(axis=0))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.run(self.prepare(frame))
