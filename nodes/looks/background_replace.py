"""Background replace and colour pop: a chosen image, colour or the frame's own greyscale behind the
person, with light wrap so the person sits in the scene.

Not for: blurring the real background (portrait_blur.py). Output: BGR; BGRA (alpha = person, edges
colour-decontaminated: cutout.py's cut_out) when ``background = "transparent"``.
background: "procedural:NAME" | "#rrggbb" | an image path | a video path (looped, at its own rate: the
chain decodes it in a background_video node) | "greyscale" (colour pop) | "transparent".
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...graph.options import check_ranges
from ..background_video import is_video_background
from ..light_wrap import LightWrap
from .assets import load_asset
from .blend import alpha_blend, mask_to_alpha
from .cutout import cut_out
from .edge_colour import EdgeColour
from .grading import curve_lut, s_curve
from .look import Look
from .scratch import Scratch

GREYSCALE = "greyscale"
TRANSPARENT = "transparent"


class BackgroundReplace(Look):
    name = "replace"
    summary = "a new background (image, video, colour, or the scene in greyscale) with light wrap"
    video_settings = ("background",)

    @dataclass(frozen=True)
    class Settings:
        background: str = "procedural:studio"
        light_wrap: float = 0.45        # 0..1: how much background light spills over the person's rim
        wrap_width: float = 0.015       # width of the spill, fraction of the frame width
        background_blur: float = 0.0    # soften an image background (fraction of frame width) for depth
        background_dim: float = 0.0     # 0..0.8: darken the background
        greyscale_contrast: float = 0.35  # colour pop only: punch of the grey background
        decontaminate: bool = True      # the person's own colour at soft edges (no halo of the old background)

        def __post_init__(self):
            if not isinstance(self.background, str) or not self.background:
                raise ValueError(f"background must be an asset reference, {GREYSCALE!r} or "
                                 f"{TRANSPARENT!r}, got {self.background!r}")
            check_ranges(self, light_wrap=(0, 1), wrap_width=(0.001, 0.1), background_blur=(0, 0.1),
                               background_dim=(0, 0.8), greyscale_contrast=(0, 1.5))

    @property
    def channels(self) -> int:
        return 4 if self.settings.background == TRANSPARENT else 3

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        # wrap_width has always been the reach blur's sigma; LightWrap's width_px is two sigmas
        self._wrap = LightWrap(height, width, width_px=2.0 * s.wrap_width * width, strength=s.light_wrap,
                               scratch=self._scratch) if s.light_wrap > 0 else None
        self._grey_lut = curve_lut(s_curve(s.greyscale_contrast) * (1.0 - s.background_dim))
        self._background = self._glow = None
        self._video = is_video_background(s.background)
        self._edge_colour = EdgeColour(height, width, scratch=self._scratch) if s.decontaminate else None
        if s.background in (GREYSCALE, TRANSPARENT) or self._video:
            return
        background = load_asset(s.background, height, width, field="settings.background")
        if s.background_blur > 0:
            sigma = s.background_blur * width
            background = cv2.GaussianBlur(background, (0, 0), sigma)
        if s.background_dim > 0:
            background = cv2.convertScaleAbs(background, alpha=1.0 - s.background_dim)
        self._background = background
        if self._wrap is not None:   # a still background: its glow too, once
            self._glow = self._wrap.glow(background)

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if self.settings.background == TRANSPARENT:
            return cut_out(frame, mask)
        height, width = frame.shape[:2]
        alpha = mask_to_alpha(mask) if mask is not None else np.zeros((height, width), np.uint8)
        if self._video:
            background = self._video_plate(frame)
            glow = self._wrap.glow(background) if self._wrap is not None and mask is not None else None
        elif self._background is not None:
            background, glow = self._background, self._glow
        else:   # colour pop: the scene itself, in greyscale (its glow stays one channel: 3x cheaper)
            grey = cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), self._grey_lut)
            background = cv2.merge((grey, grey, grey), dst=self._scratch.get("grey3", frame.shape))
            glow = None
            if mask is not None and self._wrap is not None:
                glow = self._wrap.glow(grey, out=self._scratch.get("glow1", grey.shape))
        if mask is None:
            return background.copy()
        person = frame
        # a new background (image or video) gets the decontaminated edge colour; colour pop keeps its scene
        if self._edge_colour is not None and (self._background is not None or self._video):
            person = self._edge_colour(frame, mask, alpha)
        if self._wrap is not None and glow is not None:
            person = self._wrap.apply(person, glow, mask, alpha, out=self._scratch.get("person", frame.shape))
        return alpha_blend(person, background, alpha, scratch=self._scratch)

    def _video_plate(self, frame: np.ndarray) -> np.ndarray:
        """The video background's current frame, softened and dimmed like an image background (per frame:
        the clip moves); a dark plate until its first frame arrives."""
        s = self.settings
        video = self.video_background
        if video is None or video.shape[:2] != frame.shape[:2]:
            return np.full_like(frame, 24)
        if s.background_blur > 0:
            # blurred at a quarter size: a wide Gaussian at full size costs several frames' budget
            height, width = frame.shape[:2]
            small = cv2.resize(video, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
            small = cv2.GaussianBlur(small, (0, 0), s.background_blur * width / 4)
            video = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        if s.background_dim > 0:
            video = cv2.convertScaleAbs(video, alpha=1.0 - s.background_dim)
        return video
