"""The fringe node: a model-resolution mask brought to frame resolution, its edge following the image.

Not for: temporal smoothing (nodes/smooth.py) or colour (composite, nodes/light_wrap.py).

    in:  frame (Frame, full resolution BGR, primary), mask (Mask, model resolution, same timestamp)
    out: mask (Mask, frame resolution)
    options: feather (px), spread (px, + grows / - chokes), style (soft | glow | spray | halftone),
             style_width (px), halftone_cell (px), seed, radius / eps / guide_long_side (guided filter)
    example: [nodes.fringe] type = "fringe"  style = "soft"  feather = 1.5

When the mask for a frame is missing the node emits nothing for that frame and counts
``mask_missing``: the composite decides how to fail closed; the fringe never invents a mask.
In a still scene (the segment node's meta ``scene_still``) whose mask has not moved since the last edge
was made (no model-resolution pixel by more than REUSE_TOLERANCE), that edge is sent again (a copy) and
counted as ``fringe_reused`` and marked with meta ``edge_reused`` (every edge of a still scene with
``scene_still``: the composite's look may keep and reuse its background): refitting an edge to sensor
noise only made it shimmer, and costs ~2 ms at 720p.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..graph.kinds import Frame, Mask
from ..graph.node import Context, Node, Pairing
from ..graph.options import Above, check_ranges
from .fringe_styles import FringeStyler
from .guided_upsample import GuidedUpsampler, check_frame_and_mask


@dataclass(frozen=True)
class FringeOptions:
    feather: float = 0.0
    """extra edge softness in frame px (Gaussian sigma = feather / 2); 0 keeps the guided edge."""
    spread: float = 0.0
    """frame px: positive grows the mask (spread), negative shrinks it (choke); rounded to whole px."""
    style: Literal["soft", "glow", "spray", "halftone"] = "soft"
    style_width: float = 12.0
    """px outside the edge that a glow / spray / halftone covers."""
    halftone_cell: int = 8
    seed: int = 0
    radius: int = 2
    """guided filter box radius on the low-resolution grid."""
    eps: float = 1e-3
    """guided filter regularisation: larger follows the model more, smaller the image more."""
    guide_long_side: int = 320
    guide: Literal["grey", "colour"] = "grey"
    """"colour": the 3-channel guided filter (dev portraits: MAD -0.6%, BF +0.1%, but +5 ms a frame)."""

    def __post_init__(self) -> None:
        check_ranges(self, feather=(0.0, 100.0), spread=(-100.0, 100.0), style_width=(Above(0.0), 400.0),
                     halftone_cell=(2, 256), radius=(1, 32), eps=(Above(0.0), 1.0), guide_long_side=(16, 4096))


class EdgeRefiner:
    """Guided upsampling + spread/choke + feather + style, with reusable buffers. One per node."""

    def __init__(self, options: FringeOptions | None = None):
        self.options = options or FringeOptions()
        o = self.options
        self.upsampler = GuidedUpsampler(radius=o.radius, eps=o.eps, guide_long_side=o.guide_long_side,
                                         guide=o.guide)
        self.styler = FringeStyler(o.style, o.style_width, o.halftone_cell, o.seed)
        spread_px = round(abs(o.spread))
        self._spread_kernel = (cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * spread_px + 1,) * 2)
                               if spread_px else None)
        # the feather: a Gaussian of sigma feather / 2 with taps out to 3 sigma, to the nearest tap (OpenCV's own
        # float default is 4 sigma: 5 taps instead of 3 at the recipes' feather 1, 0.45 -> 0.26 ms at 720p; the
        # dropped tail is under 0.1% of the kernel, the mask moves by at most 0.001); applied in place
        self._feather_taps = None
        if o.feather > 0:
            sigma = o.feather / 2.0
            radius = max(1, math.ceil(3.0 * sigma - 0.5))
            self._feather_taps = cv2.getGaussianKernel(2 * radius + 1, sigma, cv2.CV_32F).ravel()

    def refine(self, frame_bgr: np.ndarray, mask: np.ndarray, where: str = "fringe") -> np.ndarray:
        """A new float32 mask at the frame's size; neither input is modified."""
        check_frame_and_mask(frame_bgr, mask, where)
        o = self.options
        # with no spread the feather comes straight after the guided apply: one pass with it when compiled
        # (nodes/frame_passes.c: 0.40 -> 0.36 ms at feather 1, 0.70 -> 0.54 at feather 2, 720p)
        fused = self._feather_taps if self._spread_kernel is None else None
        out = self.upsampler(frame_bgr, mask, blur_taps=fused)
        if self._spread_kernel is not None:
            morph = cv2.dilate if o.spread > 0 else cv2.erode
            out = morph(out, self._spread_kernel, borderType=cv2.BORDER_REPLICATE)
        if self._feather_taps is not None and fused is None:
            cv2.sepFilter2D(out, -1, self._feather_taps, self._feather_taps, dst=out,
                            borderType=cv2.BORDER_REPLICATE)
        return self.styler(out)


#: largest change of any model-resolution mask pixel for which a still scene's last edge is reused
REUSE_TOLERANCE = 0.02


class Fringe(Node):
    """Bring the mask to frame resolution with edges that follow the image; optionally styled."""

    inputs = {"frame": Frame, "mask": Mask}
    outputs = {"mask": Mask}
    pairing = Pairing(primary="frame", wait_ms=100.0, max_age_ms=250.0)
    Options = FringeOptions

    def open(self, ctx: Context) -> None:
        self._refiner = EdgeRefiner(self.options)
        self._still_edge: tuple[np.ndarray, tuple[int, ...], np.ndarray] | None = None

    def options_changed(self, ctx: Context) -> None:
        self._refiner = EdgeRefiner(self.options)   # e.g. a recipe switched live to another style
        self._still_edge = None

    def process(self, ctx: Context) -> None:
        frame_packet = ctx.inputs["frame"]
        mask_packet = ctx.inputs.get("mask")
        if frame_packet is None:
            return
        if mask_packet is None:
            ctx.count("mask_missing")
            return
        frame, mask = frame_packet.payload, mask_packet.payload
        still = bool(mask_packet.meta.get("scene_still"))
        kept = self._still_edge
        if still and kept is not None and kept[1] == frame.shape and kept[0].shape == mask.shape \
                and cv2.norm(mask, kept[0], cv2.NORM_INF) <= REUSE_TOLERANCE:
            ctx.count("fringe_reused")
            # each mask is the receiver's to keep: a copy; the meta tells the composite it is the last one
            ctx.emit("mask", frame_packet.derive(kept[2].copy(), scene_still=True, edge_reused=True))
            return
        refined = self._refiner.refine(frame, mask, where=f"node '{self.id}'")
        # kept (a copy, for the same reason) only in a still scene: a moving one never reuses it
        self._still_edge = (mask.copy(), frame.shape, refined.copy()) if still else None
        ctx.emit("mask", frame_packet.derive(refined, **({"scene_still": True} if still else {})))
