"""Background replace and colour pop: a chosen image, colour or the frame's own greyscale behind the
person, with light wrap so the person sits in the scene.

Not for: blurring the real background (portrait_blur.py). Output: BGR; BGRA (alpha = person) when
``background = "transparent"``.
background: "procedural:NAME" | "#rrggbb" | an image path | "greyscale" (colour pop) | "transparent".
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...recipes.assets import load_asset
from .blend import alpha_blend, mask_to_alpha
from .grading import curve_lut, s_curve
from .look import Look
from .reduced import grow, reduced_size, shrink
from .scratch import Scratch

GREYSCALE = "greyscale"
TRANSPARENT = "transparent"


class BackgroundReplace(Look):
    name = "replace"
    summary = "a new background (image, colour, or the scene in greyscale) with light wrap"

    @dataclass(frozen=True)
    class Settings:
        background: str = "procedural:studio"
        light_wrap: float = 0.45        # 0..1: how much background light spills over the person's rim
        wrap_width: float = 0.015       # width of the spill, fraction of the frame width
        background_blur: float = 0.0    # soften an image background (fraction of frame width) for depth
        background_dim: float = 0.0     # 0..0.8: darken the background
        greyscale_contrast: float = 0.35  # colour pop only: punch of the grey background

        def __post_init__(self):
            if not isinstance(self.background, str) or not self.background:
                raise ValueError(f"background must be an asset reference, {GREYSCALE!r} or "
                                 f"{TRANSPARENT!r}, got {self.background!r}")
            for name, lo, hi in (("light_wrap", 0, 1), ("wrap_width", 0.001, 0.1),
                                 ("background_blur", 0, 0.1),
                                 ("background_dim", 0, 0.8), ("greyscale_contrast", 0, 1.5)):
                value = getattr(self, name)
                if not lo <= value <= hi:
                    raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")

    @property
    def channels(self) -> int:
        return 4 if self.settings.background == TRANSPARENT else 3

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        self._small = reduced_size(height, width, 320)
        self._wrap_sigma = max(0.5, s.wrap_width * self._small[0])
        self._grey_lut = curve_lut(s_curve(s.greyscale_contrast) * (1.0 - s.background_dim))
        self._background = self._glow = None
        if s.background in (GREYSCALE, TRANSPARENT):
            return
        background = load_asset(s.background, height, width, field="settings.background")
        if s.background_blur > 0:
            sigma = s.background_blur * width
            background = cv2.GaussianBlur(background, (0, 0), sigma)
        if s.background_dim > 0:
            background = cv2.convertScaleAbs(background, alpha=1.0 - s.background_dim)
        self._background = background
        self._glow = self._glow_of(background, height, width)   # a still background: its glow too

    def _glow_of(self, background: np.ndarray, height: int, width: int) -> np.ndarray:
        """The background's light as it would scatter around an edge: blurred at reduced size."""
        small = cv2.GaussianBlur(shrink(background, self._small), (0, 0), self._wrap_sigma * 1.5)
        return grow(small, height, width)

    def _wrap_alpha(self, mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """uint8 weight of the glow on the person: strongest right inside the edge, gone deeper in."""
        outside = (shrink(mask, self._small) < 0.5).astype(np.float32)
        reach = cv2.GaussianBlur(outside, (0, 0), self._wrap_sigma, borderType=cv2.BORDER_REPLICATE)
        # the blurred outside is 0.5 on the edge itself: scale so the edge gets `light_wrap`
        small8 = cv2.convertScaleAbs(reach, alpha=510.0 * self.settings.light_wrap)
        full8 = grow(small8, *mask.shape)
        return cv2.multiply(full8, alpha, scale=1 / 255, dst=self._scratch.get("wrap", mask.shape))

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        height, width = frame.shape[:2]
        alpha = mask_to_alpha(mask) if mask is not None else np.zeros((height, width), np.uint8)
        if self.settings.background == TRANSPARENT:
            return cv2.merge((*cv2.split(frame[..., :3]), alpha))
        if self._background is not None:
            background, glow = self._background, self._glow
        else:   # colour pop: the scene itself, in greyscale (its glow made in one channel: 3x cheaper)
            grey = cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), self._grey_lut)
            background = cv2.merge((grey, grey, grey), dst=self._scratch.get("grey3", frame.shape))
            glow = None
            if mask is not None and self.settings.light_wrap > 0:
                glow1 = self._glow_of(grey, height, width)
                glow = cv2.merge((glow1, glow1, glow1), dst=self._scratch.get("glow3", frame.shape))
        if mask is None:
            return background.copy()
        person = frame
        if self.settings.light_wrap > 0 and glow is not None:
            person = alpha_blend(glow, frame, self._wrap_alpha(mask, alpha), scratch=self._scratch,
                                 out=self._scratch.get("person", frame.shape))
        return alpha_blend(person, background, alpha, scratch=self._scratch)
