"""Double exposure: the portrait's silhouette filled with a second image (a landscape, a city, a
texture), blended so the face still reads, the edges dissolving into a light paper ground.

Not for: replacing the background with a scene (background_replace.py). Output: BGR.
The portrait is turned to a bright, contrasty monochrome and combined with the fill (screen keeps
the face's highlights and lets the fill show through the shadows; multiply and lighten also offered);
the silhouette is feathered and fades out towards the bottom, like ink soaking into paper.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ...graph.options import check_ranges
from ...recipes.assets import load_asset
from ..background_video import is_video_background
from .blend import alpha_blend
from .grading import curve_lut, s_curve
from .look import Look
from .reduced import grow, reduced_size, shrink
from .scratch import Scratch

_INV255 = 1.0 / 255.0


class DoubleExposure(Look):
    name = "double_exposure"
    summary = "the silhouette filled with a landscape, fading into a paper ground"
    video_settings = ("fill",)   # a video file as the fill: it plays inside the silhouette

    @dataclass(frozen=True)
    class Settings:
        fill: str = "procedural:landscape"
        ground: str = "procedural:paper"
        blend: Literal["screen", "multiply", "lighten"] = "screen"
        portrait_contrast: float = 1.0     # 0..1.5: S-curve on the monochrome portrait
        portrait_gamma: float = 1.7        # 0.5..3: >1 deepens the midtones, where the fill shows
        portrait_lift: float = 0.0         # 0..0.5: lifts the portrait's blacks
        feather: float = 0.012             # edge softness, fraction of the frame width
        fade: float = 0.30                 # 0..1: how far up from the bottom the silhouette dissolves

        def __post_init__(self):
            check_ranges(self, portrait_contrast=(0, 1.5), portrait_gamma=(0.5, 3.0), portrait_lift=(0, 0.5),
                               feather=(0, 0.1), fade=(0, 1))

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        self._ground = load_asset(s.ground, height, width, field="settings.ground")
        self._fill_is_video = is_video_background(s.fill)
        if self._fill_is_video:   # the clip's frames arrive per frame (composite's background input)
            self._fill = self._fill_inverted = None
        else:
            fill = load_asset(s.fill, height, width, field="settings.fill")
            self._fill = fill
            self._fill_inverted = cv2.bitwise_not(fill)
        tone = s_curve(s.portrait_contrast) ** s.portrait_gamma
        tone = s.portrait_lift + (1.0 - s.portrait_lift) * np.clip(tone / 0.92, 0.0, 1.0)
        self._tone_lut = curve_lut(tone)
        self._small = reduced_size(height, width, 320)
        self._feather_sigma = s.feather * self._small[0]
        # the silhouette dissolves from the bottom up: 1 above, 0 at the bottom edge
        rows = np.linspace(0.0, 1.0, height, dtype=np.float32)
        start = 1.0 - s.fade
        fade = np.clip((1.0 - rows) / max(1.0 - start, 1e-3), 0.0, 1.0) if s.fade > 0 else np.ones_like(rows)
        fade = fade * fade * (3.0 - 2.0 * fade)
        self._fade = np.ascontiguousarray(np.repeat(np.rint(fade * 255).astype(np.uint8)[:, None], width, 1))

    def _current_fill(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fill, inverted fill): the still one, or the video's current frame (mid grey until it arrives)."""
        if not self._fill_is_video:
            return self._fill, self._fill_inverted
        video = self.video_background
        if video is None or video.shape != frame.shape:
            video = np.full_like(frame, 128)
        return video, cv2.bitwise_not(video, dst=self._scratch.get("fill_inverted", frame.shape))

    def _exposed(self, frame: np.ndarray) -> np.ndarray:
        grey = cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), self._tone_lut)
        portrait = cv2.merge((grey, grey, grey), dst=self._scratch.get("portrait", frame.shape))
        out = self._scratch.get("exposed", frame.shape)
        blend = self.settings.blend
        fill, fill_inverted = self._current_fill(frame)
        if blend == "screen":
            cv2.bitwise_not(portrait, dst=portrait)
            cv2.multiply(portrait, fill_inverted, dst=out, scale=_INV255)
            cv2.bitwise_not(out, dst=out)
        elif blend == "multiply":
            cv2.multiply(portrait, fill, dst=out, scale=_INV255)
        else:
            cv2.max(portrait, fill, dst=out)
        return out

    def _silhouette(self, mask: np.ndarray) -> np.ndarray:
        height, width = mask.shape
        small = shrink(mask, self._small)
        if self._feather_sigma > 0.3:
            small = cv2.GaussianBlur(small, (0, 0), self._feather_sigma)
        alpha = grow(cv2.convertScaleAbs(small, alpha=255.0), height, width)
        return cv2.multiply(alpha, self._fade, scale=_INV255, dst=self._scratch.get("alpha", (height, width)))

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if mask is None:
            return self._ground.copy()
        return alpha_blend(self._exposed(frame), self._ground, self._silhouette(mask), scratch=self._scratch)
