"""Draw the recipe's look: the frame and its person mask in, the designed portrait out.

Not for: the looks themselves (nodes/looks/, one file each) or mask work (smooth, fringe).
in:  frame (Frame, BGR, full resolution)  mask (Mask from the fringe node, at the frame's size or at the
     chain's working size with the same aspect: brought up bilinearly; optional)
     background (Frame, BGR at the frame's size, from a background_video node: the current frame of a
     look's video setting; optional, the look keeps the last one it got)
out: frame (Frame: BGR; BGRA for look "cutout" and for "replace" with background = "transparent")
options: look = "blur" | "replace" | "poster" | "double_exposure" | "stencil" | "cutout"; settings = { the look's
         settings, see nodes/looks/<look>.py }; mask_max_age_ms; mask_wait_ms
example: [nodes.composite] type = "composite"  options = { look = "poster", settings = { title = "HELLO" } }

Fails closed: when the mask is missing or older than mask_max_age_ms, the look draws as if nobody
were there (fully blurred, fully replaced, bare wall...), never the raw background, and the node
counts "fail_closed".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

from ..graph import ConfigError, Context, Frame, Mask, Node, Pairing
from .looks.catalogue import build_settings, look_class
from .looks.look import Look

LookName = Literal["blur", "replace", "poster", "double_exposure", "stencil", "cutout"]


class Composite(Node):
    """The last stage before the sink: one look, chosen by name, with typed settings."""

    inputs = {"frame": Frame, "mask": Mask, "background": Frame}
    optional_inputs = frozenset({"mask", "background"})
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        look: LookName = "blur"
        settings: dict[str, Any] = field(default_factory=dict)
        mask_max_age_ms: float = 250.0    # an older mask counts as missing (fail closed)
        mask_wait_ms: float = 100.0       # how long a live graph waits for the frame's own mask

        def __post_init__(self):
            if self.mask_max_age_ms < 0:
                raise ValueError(f"mask_max_age_ms must be >= 0, got {self.mask_max_age_ms}")
            if self.mask_wait_ms < 0:
                raise ValueError(f"mask_wait_ms must be >= 0, got {self.mask_wait_ms}")
            # validate the look's settings now, so a bad key fails before the first frame
            try:
                build_settings(self.look, self.settings, node=None)
            except ConfigError as exc:
                error = ValueError(str(exc))
                error.field = "settings"   # type: ignore[attr-defined]  (build_options reads it)
                raise error from None

    @staticmethod
    def settings_options(options: Composite.Options) -> type:
        """The dataclass the ``settings`` table follows for ``options.look`` (the web preview draws
        the look's controls from it)."""
        return look_class(options.look).Settings

    @classmethod
    def pairing_for(cls, options: Composite.Options) -> Pairing:
        """The frame drives; its mask is waited for and aged as the options say."""
        return Pairing(primary="frame", wait_ms=options.mask_wait_ms, max_age_ms=options.mask_max_age_ms)

    def open(self, ctx: Context) -> None:
        self._look = self._make_look()
        self._full_mask: np.ndarray | None = None   # reused: the look never keeps the mask past render()

    def options_changed(self, ctx: Context) -> None:
        video_background = self._look.video_background
        self._look = self._make_look()
        self._look.video_background = video_background

    def _make_look(self) -> Look:
        cls = look_class(self.options.look, node=self.id)
        return cls(build_settings(self.options.look, self.options.settings, node=f"{self.id}.settings"))

    def _usable_mask(self, ctx: Context, frame: np.ndarray) -> np.ndarray | None:
        frame_packet, mask_packet = ctx.inputs["frame"], ctx.inputs.get("mask")
        if mask_packet is None:
            return None
        age_ns = frame_packet.capture_ts_ns - mask_packet.capture_ts_ns
        if abs(age_ns) > self.options.mask_max_age_ms * 1e6:
            return None
        mask = mask_packet.payload
        height, width = frame.shape[:2]
        if mask.shape != (height, width):
            # the chain refines the mask at its working size and the look draws at full size: a bilinear
            # upsample (0.15 ms at 720p against 2 ms for a guided one) keeps the fringe's edge and style.
            # A mask of another aspect is not the chain's: it is stretched too, but counted.
            mask_h, mask_w = mask.shape
            if abs(mask_w * height - mask_h * width) > 0.02 * mask_w * height:
                ctx.count("mask_resized")
            if self._full_mask is None or self._full_mask.shape != (height, width):
                self._full_mask = np.empty((height, width), np.float32)
            mask = cv2.resize(mask, (width, height), dst=self._full_mask, interpolation=cv2.INTER_LINEAR)
        return mask

    def process(self, ctx: Context) -> None:
        packet = ctx.inputs["frame"]
        frame = packet.payload
        if frame.shape[2] == 4:   # a BGRA source: the looks draw on colour only
            frame = np.ascontiguousarray(frame[..., :3])
        mask = self._usable_mask(ctx, frame)
        if mask is None:
            ctx.count("fail_closed")
        background = ctx.inputs.get("background")
        if background is not None:
            self._look.video_background = background.payload
        meta = ctx.inputs["mask"].meta if mask is not None else {}
        self._look.scene_still = bool(meta.get("scene_still"))
        self._look.same_mask = self._look.scene_still and bool(meta.get("edge_reused"))
        out = self._look.render(frame, mask)
        ctx.emit("frame", packet.derive(out, look=self.options.look))
