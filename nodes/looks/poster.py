"""Movie poster: the person graded (teal-orange or duotone) in front of a designed sky, a vignette,
and the user's title, tagline and billing block set like a film poster's.

Not for: general text overlays (typesetting.py sets the lines). Output: BGR.
The layout follows the one-sheet convention: the figure owns the top two thirds; the bottom third,
darkened for the type, holds (top to bottom) a small tracked tagline, the title as the largest type
on the page, and the billing block in tall condensed capitals, two lines at most, sized as fractions
of the frame so every resolution gets the same poster. Nothing is set in the top of the frame, where
the head and hair are. Everything but the person is made once per frame size in prepare(): the plate
(for duotone graded like the person), the light fall-off and the type stamps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from ...graph.options import check_ranges
from ..frame_passes import compiled
from .assets import load_asset, parse_colour
from .blend import grey3, mask_to_alpha
from .box_blend import alpha_and_box, cells_to_grow, mix_in_box
from .edge_colour import EdgeColour
from .grading import duotone_lut, teal_orange_lut
from .look import Look
from .reduced import grow_cells, shrink, shrink_alpha
from .scratch import Scratch
from .typesetting import PlacedStamp, TypeStyle, fit_condensed_lines, fit_line
from .vignette import vignette_map

#: the type's sizes and gaps as fractions of the frame height (the ink height of capitals)
TITLE_SIZE, TAGLINE_SIZE, CREDIT_SIZE = 0.105, 0.024, 0.019
BOTTOM_MARGIN, CREDIT_GAP, TITLE_GAP, LINE_GAP = 0.045, 0.024, 0.022, 0.007
#: widths as fractions of the frame width
TITLE_WIDTH, TAGLINE_WIDTH, CREDIT_WIDTH = 0.86, 0.70, 0.74
CONDENSED = 0.62
#: rows per strip of the person's grade (each strip graded across the person's own extent only)
GRADE_STRIP_ROWS = 32


def _mix_colour(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


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
        background: str = "procedural:teal_sky"
        title_colour: str = "#f7efe2"
        vignette: float = 0.55
        title_weight: int = 800
        decontaminate: bool = True       # the person's own colour at soft edges (no halo of the old background)

        def __post_init__(self):
            for name in ("shadow", "highlight", "title_colour"):
                parse_colour(getattr(self, name), field=name)
            check_ranges(self, vignette=(0, 1), title_weight=(100, 1000))
            if len(self.title) > 60:
                raise ValueError(f"title must be at most 60 characters, got {len(self.title)}")

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        #: a still scene's, see _compose (the box and whether there is an edge layer) and _compose_compiled
        #: (the box and the edge layer)
        self._kept_mix: tuple[tuple[int, int, int, int], Any] | None = None
        if s.grade == "duotone":
            self._lut = duotone_lut(parse_colour(s.shadow), parse_colour(s.highlight), contrast=0.7)
        else:
            self._lut = teal_orange_lut(amount=1.6, contrast=0.45)
        plate = load_asset(s.background, height, width, field="settings.background")
        plate = cv2.LUT(grey3(plate), self._lut) if s.grade == "duotone" else plate
        has_type = bool(s.title.strip() or s.credit.strip() or s.tagline.strip())
        self._light = vignette_map(height, width, amount=s.vignette,
                                   bottom_fade=0.7 if has_type else 0.0, fade_start=0.6)
        # the light falls on plate and person alike: the plate's share is lit once here, the person's by
        # folding the light into its blend weight (one channel) per frame
        self._lit_plate = cv2.multiply(plate, self._light, scale=1 / 255)
        self._light1 = np.ascontiguousarray(self._light[..., 0])
        self._edge_colour = EdgeColour(height, width, scratch=self._scratch) if s.decontaminate else None
        self._set_type(height, width)
        centre = width // 2
        stamps = [(self._tagline, self._tagline_ink, self._tagline_top), (self._title, self._ink, self._title_top)]
        stamps += [(stamp, self._credit_ink, top) for stamp, top in zip(self._credits, self._credit_tops)]
        self._stamps = [PlacedStamp(stamp, ink, centre, top, (height, width, 3)) for stamp, ink, top in stamps]

    def _set_type(self, height: int, width: int) -> None:
        s = self.settings
        ink = parse_colour(s.title_colour)
        self._ink = ink
        self._tagline_ink = _mix_colour(ink, (128, 128, 128), 0.15)
        self._credit_ink = _mix_colour(ink, (110, 110, 110), 0.35)
        # ink heights are what a designer sizes; set_line's size is the font's em, about 1.4x caps
        em = 1.0 / 0.72
        self._title = fit_line(s.title.upper(), width * TITLE_WIDTH, height * TITLE_SIZE * em,
                               TypeStyle(weight=s.title_weight, tracking=0.04))
        self._credits = fit_condensed_lines(s.credit.upper(), width * CREDIT_WIDTH, height * CREDIT_SIZE * em,
                                            TypeStyle(weight=500, tracking=0.06), CONDENSED)
        self._tagline = fit_line(s.tagline.upper(), width * TAGLINE_WIDTH, height * TAGLINE_SIZE * em,
                                 TypeStyle(weight=500, tracking=0.28))
        if self._tagline.size and self._tagline.shape[0] < 0.8 * height * TAGLINE_SIZE:
            # a narrow (portrait) frame: tighter letter-spacing before smaller letters
            self._tagline = fit_line(s.tagline.upper(), width * TAGLINE_WIDTH * 1.1, height * TAGLINE_SIZE * em,
                                     TypeStyle(weight=500, tracking=0.1))
        # stacked from the bottom margin up: billing block, title, tagline
        y = height * (1.0 - BOTTOM_MARGIN)
        self._credit_tops = []
        for stamp in reversed(self._credits):
            y -= stamp.shape[0]
            self._credit_tops.insert(0, round(y))
            y -= height * LINE_GAP
        if self._credits:
            y -= height * (CREDIT_GAP - LINE_GAP)
        y -= self._title.shape[0] if self._title.size else 0
        self._title_top = round(y)
        y -= height * TITLE_GAP if self._title.size else 0
        y -= self._tagline.shape[0] if self._tagline.size else 0
        self._tagline_top = round(y)

    def type_boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """(top, bottom, left, right) of each set line in the last prepared frame (for tests/layout)."""
        width = self._light.shape[1]
        boxes = {}
        lines = [("tagline", self._tagline, self._tagline_top), ("title", self._title, self._title_top)]
        lines += [(f"credit{i}", st, top) for i, (st, top) in enumerate(zip(self._credits, self._credit_tops))]
        for name, stamp, top in lines:
            if stamp.size:
                left = width // 2 - stamp.shape[1] // 2
                boxes[name] = (top, top + stamp.shape[0], left, left + stamp.shape[1])
        return boxes

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        out = np.empty_like(self._lit_plate)
        kept = self._kept_mix if self.same_mask and mask is not None else None
        self._kept_mix = None
        if kept is not None:
            if compiled is not None:
                self._mix_compiled(frame, alpha_and_box(mask)[0], *kept, out)
            else:
                self._mix(frame, *kept, out)
            self._kept_mix = kept
        else:
            alpha, box = alpha_and_box(mask) if mask is not None else (None, None)
            if box is None:
                np.copyto(out, self._lit_plate)
            elif compiled is not None:
                self._compose_compiled(frame, alpha, box, out)
            else:
                self._compose(frame, mask, alpha, box, out)
        for stamp in self._stamps:
            stamp.onto(out)
        return out

    def _compose(self, frame: np.ndarray, mask: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int],
                 out: np.ndarray) -> None:
        """The graded person (its soft edges in their own colour) over the lit plate, lit like it, in one mix:
        grade(frame) * a l (1 - e) + grade(F) * a l e + lit plate * (1 - a), l = the light, e = the edge
        colour's share, F = the edge colour on the small grid (graded there: a curve of a blend is the blend
        of the curves to within a level or two on these smooth grades)."""
        plane = alpha.shape
        y0, y1, x0, x1 = box
        # full-size weights inside the person's box only (the mix reads nothing else)
        def boxed(name: str) -> np.ndarray:
            return self._scratch.get(name, plane)[y0:y1, x0:x1]
        inside = alpha[y0:y1, x0:x1]
        lit = self._scratch.get("lit_alpha", plane)
        cv2.multiply(inside, self._light1[y0:y1, x0:x1], scale=1 / 255, dst=lit[y0:y1, x0:x1])
        graded = self._grade(frame, alpha, box)
        layers = [(graded, lit)]
        edge = self._edge_colour
        if edge is not None:
            graded_edge, cells = self._graded_edge_colour(frame, alpha)
            if cells[2] and cells[3]:
                share = edge.weight(inside, out=boxed("edge.share"))
                edge_layer = self._scratch.get("edge_layer", frame.shape)
                (top, bottom, left, right), _ = grow_cells(graded_edge, *plane, cells, edge_layer)
                top, bottom, left, right = max(top, y0), min(bottom, y1), max(left, x0), min(right, x1)
                on_edge = self._scratch.get("on_edge", plane)
                on_edge[y0:y1, x0:x1] = 0
                if bottom > top and right > left:
                    cv2.multiply(lit[top:bottom, left:right], share[top - y0:bottom - y0, left - x0:right - x0],
                                 scale=1 / 255, dst=on_edge[top:bottom, left:right])
                cv2.subtract(lit[y0:y1, x0:x1], on_edge[y0:y1, x0:x1], dst=lit[y0:y1, x0:x1])
                layers.append((edge_layer, on_edge))
        behind = self._scratch.get("behind", plane)
        cv2.bitwise_not(inside, dst=behind[y0:y1, x0:x1])
        layers.append((self._lit_plate, behind))
        if self.scene_still:
            # kept for the next frames with the same mask: the box and whether there is an edge layer (the
            # weights and the graded edge colour stay in their scratch buffers, which only this writes)
            self._kept_mix = (box, len(layers) == 3)
        mix_in_box(layers, self._lit_plate, out, box, self._scratch)

    def _graded_edge_colour(self, frame: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """The edge colour on its small grid, graded, and the cells (x, y, w, h) where it has a share (w or h 0:
        nowhere). Both paths of the composite grow it from here."""
        edge = self._edge_colour
        small_mask = shrink_alpha(alpha, edge.size)
        estimate = edge.estimate(shrink(frame, edge.size), small_mask)
        cells = cv2.boundingRect(edge.weight(mask_to_alpha(small_mask), name="edge.small"))
        graded = cv2.LUT(self._gradable(estimate, "grey3.small"), self._lut) if cells[2] and cells[3] else estimate
        return graded, cells

    def _compose_compiled(self, frame: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int],
                          out: np.ndarray) -> None:
        """_compose's mix in one compiled pass over the frame, the same pixels: the grade's table, the light and
        the edge colour's share worked out per pixel there, the graded edge colour grown from the small grid
        row by row (plates_pass.c's plates_mix)."""
        edge_layer = {}
        if self._edge_colour is not None:
            graded_edge, cells = self._graded_edge_colour(frame, alpha)
            if cells[2] and cells[3]:
                layer, layer_box = cells_to_grow(graded_edge, *alpha.shape, cells)
                edge_layer = {"layer": layer, "layer_box": layer_box}
        if self.scene_still:
            # kept for the next frames with the same mask: the box and the graded edge colour (a new array)
            self._kept_mix = (box, edge_layer)
        self._mix_compiled(frame, alpha, box, edge_layer, out)

    def _mix_compiled(self, frame: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int],
                      edge_layer: dict[str, Any], out: np.ndarray) -> None:
        compiled.plates_mix(frame, alpha, self._lit_plate, out, box, table=self._lut,
                            grey=self.settings.grade == "duotone", light=self._light1, edge=bool(edge_layer),
                            **edge_layer)

    def _mix(self, frame: np.ndarray, box: tuple[int, int, int, int], edged: bool, out: np.ndarray) -> None:
        """_compose's mix again for a still scene with the same mask: the light-folded weights and the graded
        edge colour as the last frame made them, the person graded from this frame."""
        plane = frame.shape[:2]
        lit = self._scratch.get("lit_alpha", plane)
        layers = [(self._grade(frame, lit, box), lit)]
        if edged:
            layers.append((self._scratch.get("edge_layer", frame.shape), self._scratch.get("on_edge", plane)))
        layers.append((self._lit_plate, self._scratch.get("behind", plane)))
        mix_in_box(layers, self._lit_plate, out, box, self._scratch)

    def _grade(self, frame: np.ndarray, weight: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The graded person (a scratch buffer) where ``weight`` (its share in the mix) is not 0, strip by strip
        across the box: the mix reads it only there (elsewhere it is multiplied by 0), and the grade's
        3-channel table is the dearest call of the look (about 1 ms over a 720p box, which is mostly the
        empty corners beside the head on its upper rows)."""
        y0, y1, x0, x1 = box
        graded = self._scratch.get("graded", frame.shape)
        for start in range(y0, y1, GRADE_STRIP_ROWS):
            stop = min(y1, start + GRADE_STRIP_ROWS)
            left, _, span, _ = cv2.boundingRect(weight[start:stop, x0:x1])
            if span:
                columns = slice(x0 + left, x0 + left + span)
                cv2.LUT(self._gradable(frame[start:stop, columns], "grey3", frame.shape), self._lut,
                        dst=graded[start:stop, columns])
        return graded

    def _gradable(self, image: np.ndarray, name: str, buffer_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """What the grade's table applies to: the colour itself, or for duotone its grey as three channels
        (in a scratch buffer of ``buffer_shape``, the image's own by default, used from its top-left)."""
        if self.settings.grade != "duotone":
            return image
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        buffer = self._scratch.get(name, buffer_shape or image.shape)[:image.shape[0], :image.shape[1]]
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR, dst=buffer)
