"""The smooth node: blend each model-resolution mask with the previous one where the model is unsure.

Not for: upsampling or edge refinement (nodes/fringe.py). Works at the model's resolution only.

    in:  mask (Mask, model resolution, primary), frame (Frame, full frame BGR, optional: motion)
    out: mask (Mask, model resolution, same timestamp)
    options: combine_with_previous (0..1, MediaPipe's combine_with_previous_ratio), motion ("flow" |
             "none"), change_threshold (grey levels where the past is given up)
    example: [nodes.smooth] type = "smooth"  combine_with_previous = 0.7  motion = "flow"

Like MediaPipe's SegmentationSmoothingCalculator, the weight of the past is the new mask's uncertainty
(1 at p = 0.5, 0 where the model is sure) times combine_with_previous. Motion-aware so the mask does not
trail a moving person: with a frame, dense optical flow (DIS, at mask resolution on grey frames) warps
the previous mask onto the current frame, and where the warped previous frame still differs from the
current one (occlusion, new content) the past is dropped. Everything after the flow is one compiled pass
where the extension is built (nodes/smooth_pass.c; the same array to the bit as blend_moved_past's).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..graph.errors import ContractError
from ..graph.kinds import Frame, Mask
from ..graph.node import Context, Node, Pairing
from ..graph.options import Above, check_ranges
from .frame_passes import compiled
from .shared_shrink import shrink_twice_then_area

# MediaPipe's polynomial approximation of the squared binary-entropy uncertainty as a function of
# (p - 0.5)^2 (segmentation_smoothing_calculator.cc); keeps the blend free of log() calls.
_C1, _C2, _C3, _C4, _C5 = (np.float32(c) for c in (5.68842, -0.748699, -57.8051, 291.309, -624.717))


def uncertainty(mask: np.ndarray) -> np.ndarray:
    """Per-pixel uncertainty in [0, 1] of a probability mask: 1 at 0.5, 0 near 0 and 1."""
    t = mask - np.float32(0.5)
    x = t * t
    poly = x * (_C1 + x * (_C2 + x * (_C3 + x * (_C4 + x * _C5))))
    return np.float32(1.0) - np.minimum(np.float32(1.0), poly)


def blend_with_previous(new: np.ndarray, previous: np.ndarray, ratio: float,
                        keep_past: np.ndarray | None = None) -> np.ndarray:
    """new + (previous - new) * uncertainty(new) * ratio [* keep_past]: a new float32 array."""
    weight = uncertainty(new)
    weight *= np.float32(ratio)
    if keep_past is not None:
        weight *= keep_past
    out = previous - new
    out *= weight
    out += new
    return out


def warp_by_flow(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (HxW) moved by ``flow`` (HxWx2, from the current frame to the previous): each pixel takes
    the image at its own position plus its flow, bilinear, edges replicated. cv2.remap's own SIMD even with
    the compiled passes: alone (a carried frame) it is quicker than compiled.warp_by_flow (0.09 against
    0.13 ms at 256x144), which gives the same pixels and is the warp smooth_step fuses with the blend."""
    return cv2.remap(image, *_maps(flow), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def blend_moved_past(mask: np.ndarray, previous: np.ndarray, previous_grey: np.ndarray, grey: np.ndarray,
                     flow: np.ndarray, ratio: float, change_threshold: float) -> np.ndarray:
    """The motion-aware blend, OpenCV and numpy: the previous mask and grey warped by the flow; where the
    warped grey differs from this one by more than the threshold the past is given up (fully at twice it);
    elsewhere blend_with_previous. A new float32 array. (The compiled pass, nodes/smooth_pass.c, gives the
    same array to the bit.)"""
    map_x, map_y = _maps(flow)
    warped_mask = cv2.remap(previous, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped_grey = cv2.remap(previous_grey, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    difference = cv2.absdiff(grey, warped_grey).astype(np.float32)
    keep_past = np.clip(np.float32(2.0) - difference * np.float32(1.0 / change_threshold), 0.0, 1.0)
    return blend_with_previous(mask, warped_mask, ratio, keep_past)


@functools.lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's (x, y) as float32 maps, made once per size and shared (read-only)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def _maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap's absolute maps for a flow."""
    xs, ys = _pixel_grid(*flow.shape[:2])
    return xs + flow[..., 0], ys + flow[..., 1]


@dataclass(frozen=True)
class SmoothOptions:
    combine_with_previous: float = 1.0
    """0 = no smoothing; 1 = an uncertain pixel keeps its past entirely. 1.0 by default: on the known-motion
    clips (bench/quality.py) flicker 0.0026 -> 0.0023 and MAD -1.4% against 0.9, lag unchanged (0.07-0.08
    frames at 4 px/frame); sure pixels still follow the model at once."""
    motion: Literal["flow", "none"] = "flow"
    """"flow": warp the past with optical flow (needs the frame input); "none": MediaPipe's plain blend."""
    change_threshold: float = 24.0
    """grey levels (0-255) of difference after warping above which a pixel gives up its past."""

    def __post_init__(self) -> None:
        check_ranges(self, combine_with_previous=(0.0, 1.0), change_threshold=(Above(0.0), 255.0))


class TemporalSmoother:
    """The state of one mask stream: previous smoothed mask and previous small grey frame."""

    def __init__(self, options: SmoothOptions | None = None):
        self.options = options or SmoothOptions()
        self._previous: np.ndarray | None = None
        self._previous_grey: np.ndarray | None = None
        self._flow: cv2.DISOpticalFlow | None = None
        self.frames_without_motion = 0

    def reset(self) -> None:
        self._previous = None
        self._previous_grey = None

    def _small_grey(self, frame_bgr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        # two steps: a cheap bilinear resize to 2x the mask size, then an exact 2x area average; a direct
        # bilinear shrink of a 720p frame aliases sensor noise into the flow, INTER_AREA from 720p costs ms
        # (shared with the segment node's gate, which makes the same small frame: nodes/shared_shrink.py)
        code = cv2.COLOR_BGR2GRAY if frame_bgr.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(shrink_twice_then_area(frame_bgr, (w, h)), code)

    def _flow_to_previous(self, grey: np.ndarray) -> np.ndarray:
        """Dense flow from this small grey frame to the previous one: where each pixel was a frame ago."""
        if self._flow is None:
            self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        return self._flow.calc(grey, self._previous_grey, None)

    def __call__(self, mask: np.ndarray, frame_bgr: np.ndarray | None = None,
                 carried: bool = False) -> np.ndarray:
        """The smoothed mask (a new array, or ``mask`` itself for the first frame); inputs unchanged.

        ``carried``: the segment node did not run its model for this frame and sent its last mask
        again; the previous smoothed mask is then moved onto this frame by the flow (or kept as it
        is without a frame) instead of blended with that stale mask."""
        if not isinstance(mask, np.ndarray) or mask.dtype != np.float32 or mask.ndim != 2:
            got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
            raise ContractError(f"smooth: mask must be float32 HxW, got {got}")
        o = self.options
        use_motion = o.motion == "flow" and frame_bgr is not None
        grey = self._small_grey(frame_bgr, mask.shape) if use_motion else None
        previous = self._previous
        have_grey = use_motion and self._previous_grey is not None and self._previous_grey.shape == mask.shape
        if carried and previous is not None and previous.shape == mask.shape:
            if have_grey:
                out = warp_by_flow(previous, self._flow_to_previous(grey))
            else:
                out = previous.copy()
        elif previous is None or previous.shape != mask.shape or o.combine_with_previous == 0.0:
            out = mask
        elif have_grey:
            flow = self._flow_to_previous(grey)
            if compiled is not None:
                # the two warps, the change test, the uncertainty and the blend in one pass over the grid
                # (nodes/smooth_pass.c): blend_moved_past's array to the bit, without its ten grid-size arrays
                out = np.empty_like(mask)
                compiled.smooth_step(mask, previous, self._previous_grey, grey, flow, o.combine_with_previous,
                                     float(np.float32(1.0 / o.change_threshold)), out)
            else:
                out = blend_moved_past(mask, previous, self._previous_grey, grey, flow, o.combine_with_previous,
                                       o.change_threshold)
        else:
            if o.motion == "flow":
                self.frames_without_motion += 1
            out = blend_with_previous(mask, previous, o.combine_with_previous)
        self._previous = out
        self._previous_grey = grey
        return out


class MaskSmoothing(Node):
    """Blend each mask with the (motion-warped) previous one where the model is unsure."""

    inputs = {"mask": Mask, "frame": Frame}
    optional_inputs = frozenset({"frame"})
    outputs = {"mask": Mask}
    pairing = Pairing(primary="mask", wait_ms=50.0, max_age_ms=100.0)
    Options = SmoothOptions

    def open(self, ctx: Context) -> None:
        self._smoother = TemporalSmoother(self.options)

    def options_changed(self, ctx: Context) -> None:
        self._smoother = TemporalSmoother(self.options)   # new settings start a fresh history

    def process(self, ctx: Context) -> None:
        mask_packet = ctx.inputs["mask"]
        if mask_packet is None:
            return
        frame_packet = ctx.inputs.get("frame")
        # a frame from another instant would warp the past wrongly: use it only when timestamps match
        frame = None
        if frame_packet is not None and frame_packet.capture_ts_ns == mask_packet.capture_ts_ns:
            frame = frame_packet.payload
        before = self._smoother.frames_without_motion
        smoothed = self._smoother(mask_packet.payload, frame, carried=bool(mask_packet.meta.get("carried")))
        if self._smoother.frames_without_motion > before:
            ctx.count("smooth_without_motion")
        ctx.emit("mask", mask_packet if smoothed is mask_packet.payload else mask_packet.derive(smoothed))

    def close(self, ctx: Context) -> None:
        self._smoother.reset()
