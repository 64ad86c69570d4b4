"""Movie poster: the person graded (teal-orange or duotone) in front of a designed sky, a vignette,
and the user's title, tagline and credit line set in type.

Not for: general text overlays (typesetting.py sets the lines). Output: BGR.
Everything but the person is made once per frame size in prepare(): the plate, the light fall-off
and the type stamps; a frame costs a LUT, one blend, one multiply and small type blends.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ...graph.options import check_ranges
from ...recipes.assets import load_asset, parse_colour
from .blend import alpha_blend, grey3, mask_to_alpha
from .grading import duotone_lut, teal_orange_lut
from .look import Look
from .scratch import Scratch
from .typesetting import TypeStyle, fit_line, stamp_onto
from .vignette import vignette_map


class Poster(Look):
    name = "poster"
    summary = "a movie poster: graded portrait, designed sky, vignette, title and credits in type"

    @dataclass(frozen=True)
    class Settings:
        title: str = "THE LAST ORBIT"
        tagline: str = "Some journeys change who you are."
        credit: str = "A PORTRAITFLOW PICTURE  ·  STARRING YOU  ·  IN CINEMAS SOON"
        grade: Literal["teal_orange", "duotone"] = "teal_orange"
        shadow: str = "#1d1540"          # duotone colours
        highlight: str = "#ffc59a"
        background: str = "procedural:dusk"
        title_colour: str = "#f7efe2"
        vignette: float = 0.55
        title_weight: int = 800

        def __post_init__(self):
            for name in ("shadow", "highlight", "title_colour"):
                parse_colour(getattr(self, name), field=name)
            check_ranges(self, vignette=(0, 1), title_weight=(100, 1000))
            if len(self.title) > 60:
                raise ValueError(f"title must be at most 60 characters, got {len(self.title)}")

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        if s.grade == "duotone":
            self._lut = duotone_lut(parse_colour(s.shadow), parse_colour(s.highlight), contrast=0.7)
        else:
            self._lut = teal_orange_lut(amount=1.0, contrast=0.45)
        plate = load_asset(s.background, height, width, field="settings.background")
        self._plate = cv2.LUT(grey3(plate), self._lut) if s.grade == "duotone" else plate
        has_type = bool(s.title.strip() or s.credit.strip())
        self._light = vignette_map(height, width, amount=s.vignette,
                                   bottom_fade=0.75 if has_type else 0.0, fade_start=0.55)
        self._set_type(height, width)

    def _set_type(self, height: int, width: int) -> None:
        s = self.settings
        unit = min(height, width * 9 / 16)      # type scales with the frame's short side
        self._title = fit_line(s.title.upper(), width * 0.86, unit * 0.17,
                               TypeStyle(weight=s.title_weight, tracking=0.02))
        self._credit = fit_line(s.credit.upper(), width * 0.80, unit * 0.028,
                                TypeStyle(weight=300, tracking=0.22))
        self._tagline = fit_line(s.tagline, width * 0.7, unit * 0.042, TypeStyle(font="italic", weight=300,
                                                                                tracking=0.03))
        self._ink = parse_colour(s.title_colour)
        credit_top = int(height * 0.935) - self._credit.shape[0]
        self._credit_top = credit_top
        self._title_top = credit_top - int(unit * 0.035) - self._title.shape[0]
        self._tagline_top = int(height * 0.055)

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        s = self.settings
        if s.grade == "duotone":
            source = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            source = cv2.merge((source, source, source), dst=self._scratch.get("grey3", frame.shape))
        else:
            source = frame
        graded = cv2.LUT(source, self._lut, dst=self._scratch.get("graded", frame.shape))
        if mask is None:
            composed = self._plate
        else:
            composed = alpha_blend(graded, self._plate, mask_to_alpha(mask), scratch=self._scratch,
                                   out=self._scratch.get("composed", frame.shape))
        out = cv2.multiply(composed, self._light, scale=1 / 255)
        centre = frame.shape[1] // 2
        stamp_onto(out, self._tagline, self._ink, centre, self._tagline_top)
        stamp_onto(out, self._title, self._ink, centre, self._title_top)
        stamp_onto(out, self._credit, self._ink, centre, self._credit_top)
        return out
