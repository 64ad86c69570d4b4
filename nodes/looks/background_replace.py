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
from .edge_colour import WORK_LONG_SIDE, EdgeColour
from .grading import curve_lut, s_curve
from .look import Look
from .reduced import grow, reduced_size, shrink
from .scratch import Scratch
from .small_correction import SmallCorrection

_INV255 = 1.0 / 255.0
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
        self._edge_colour = EdgeColour(height, width, scratch=self._scratch) if s.decontaminate else None
        # the smooth work (edge colour, light wrap) runs on one small grid and comes back as one correction
        self._grid = reduced_size(height, width, WORK_LONG_SIDE)
        self._correction = SmallCorrection(height, width, scratch=self._scratch)
        # wrap_width has always been the reach blur's sigma; LightWrap's width_px is two sigmas (here in
        # the small grid's pixels: the wrap is made there)
        grid_scale = self._grid[0] / width
        self._wrap = LightWrap(self._grid[1], self._grid[0], width_px=2.0 * s.wrap_width * width * grid_scale,
                               strength=s.light_wrap, scratch=Scratch()) if s.light_wrap > 0 else None
        self._grey_lut = curve_lut(s_curve(s.greyscale_contrast) * (1.0 - s.background_dim))
        self._background = self._glow = None
        self._video = is_video_background(s.background)
        if s.background in (GREYSCALE, TRANSPARENT) or self._video:
            return
        background = load_asset(s.background, height, width, field="settings.background")
        if s.background_blur > 0:
            sigma = s.background_blur * width
            background = cv2.GaussianBlur(background, (0, 0), sigma)
        if s.background_dim > 0:
            background = cv2.convertScaleAbs(background, alpha=1.0 - s.background_dim)
        self._background = background
        if self._wrap is not None:   # a still background: its glow too, once (on the small grid)
            self._glow = self._wrap.glow(shrink(background, self._grid))

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if self.settings.background == TRANSPARENT:
            return cut_out(frame, mask, decontaminate=self.settings.decontaminate, edge_colour=self._edge_colour)
        if self._background is None and not self._video:
            return self._colour_pop(frame, mask)
        background = self._video_plate(frame) if self._video else self._background
        if mask is None:
            return background.copy()
        alpha = mask_to_alpha(mask)
        small_frame, small_mask = shrink(frame, self._grid), shrink(mask, self._grid)
        person, delta = small_frame, None
        # a new background gets the decontaminated edge colour, then its light over the rim: both smooth,
        # both made on the small grid, added to the frame as one correction
        if self._edge_colour is not None:
            delta = self._edge_colour.delta(small_frame, small_mask)
            person = cv2.add(small_frame, delta, dtype=cv2.CV_8U)
        if self._wrap is not None:
            glow = self._glow if not self._video else self._wrap.glow(shrink(background, self._grid))
            person = self._wrap.apply(person, glow, small_mask)
            delta = cv2.subtract(person, small_frame, dtype=cv2.CV_16S)
        person = self._correction.correct(frame, delta)
        return alpha_blend(person, background, alpha, scratch=self._scratch)

    def _colour_pop(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """The scene itself in contrasty grey behind the person in colour, its grey light wrapped over the
        rim. Person, wrap and background in one pass: result = frame * a(1 - w) + [a w glow + (1 - a) grey],
        w = the wrap's weight; the bracket is one channel, so only one 3-channel multiply is left."""
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY, dst=self._scratch.get("pop.grey", frame.shape[:2]))
        cv2.LUT(grey, self._grey_lut, dst=grey)
        out = np.empty_like(frame)
        if mask is None:
            return cv2.merge((grey, grey, grey), dst=out)
        plane = frame.shape[:2]
        alpha = mask_to_alpha(mask)
        behind = cv2.bitwise_not(alpha, dst=self._scratch.get("pop.behind", plane))
        light = cv2.multiply(behind, grey, scale=_INV255, dst=self._scratch.get("pop.light", plane))
        keep = alpha
        if self._wrap is not None:
            small_mask = shrink(mask, self._grid)
            glow = grow(self._wrap.glow(shrink(grey, self._grid)), *plane)
            wrap = cv2.multiply(grow(self._wrap.weight(small_mask), *plane), alpha, scale=_INV255)
            keep = cv2.subtract(alpha, wrap, dst=wrap)
            cv2.add(light, cv2.multiply(cv2.subtract(alpha, keep), glow, scale=_INV255), dst=light)
        kept = cv2.multiply(frame, cv2.merge((keep, keep, keep), dst=self._scratch.get("pop.keep3", frame.shape)),
                            scale=_INV255, dst=out)
        return cv2.add(kept, cv2.merge((light, light, light), dst=self._scratch.get("pop.light3", frame.shape)),
                       dst=out)

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
