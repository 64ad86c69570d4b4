"""Double exposure: the portrait's silhouette filled with a second image (a landscape, a city, a
texture), blended so the face still reads, the edges dissolving into a light paper ground.

Not for: replacing the background with a scene (background_replace.py). Output: BGR.
Built the way designers build it (portrait desaturated on a light ground, the landscape clipped to
the silhouette in Screen mode, the landscape masked back off the face): the portrait becomes a
contrasty monochrome; the fill is screened over it, so it shows through the dark parts (hair,
clothes) and leaves the light ones; over the head the fill is held back (``face_clear``), found per
frame from the top of the silhouette, so eyes and mouth stay readable. The silhouette is feathered
at working size and dissolves towards the bottom edge of the frame with a smooth vertical fade.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ...graph.options import check_ranges
from ..background_video import is_video_background
from ..frame_passes import compiled
from .assets import load_asset
from .blend import mask_to_alpha
from .box_blend import STRIP_ROWS, alpha_box, blend_in_box, copy_outside
from .edge_colour import EdgeColour
from .grading import curve_lut, s_curve
from .look import Look
from .reduced import grow_cells, reduced_size, shrink, shrink_alpha
from .scratch import Scratch

_INV255 = 1.0 / 255.0
#: the head's position is quantised to this many steps of the frame height, so the weighted fill
#: is rebuilt only when the person moves by more than a step (a small cache of recent positions)
_HEAD_STEPS = 48


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class DoubleExposure(Look):
    name = "double_exposure"
    summary = "the silhouette filled with a landscape, fading into a paper ground"
    video_settings = ("fill",)   # a video file as the fill: it plays inside the silhouette

    @dataclass(frozen=True)
    class Settings:
        fill: str = "procedural:landscape"
        ground: str = "procedural:paper"
        blend: Literal["screen", "multiply", "lighten"] = "screen"
        portrait_contrast: float = 0.8     # 0..1.5: S-curve on the monochrome portrait
        portrait_gamma: float = 1.25       # 0.5..3: >1 deepens the midtones, where the fill shows
        portrait_lift: float = 0.0         # 0..0.5: lifts the portrait's blacks
        face_clear: float = 0.8            # 0..1: how much of the fill is held back over the head
        feather: float = 0.012             # edge softness, fraction of the frame width
        fade: float = 0.30                 # 0..1: how far up from the bottom the silhouette dissolves
        decontaminate: bool = True         # the person's own tones at soft edges (no halo of the old wall)

        def __post_init__(self):
            check_ranges(self, portrait_contrast=(0, 1.5), portrait_gamma=(0.5, 3.0), portrait_lift=(0, 0.5),
                               face_clear=(0, 1), feather=(0, 0.1), fade=(0, 1))

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        self._ground = load_asset(s.ground, height, width, field="settings.ground")
        self._ground_room = cv2.bitwise_not(self._ground)   # how far each ground pixel is from white
        # a video fill's frames arrive per frame (the composite's background input)
        self._fill_is_video = is_video_background(s.fill)
        self._fill = None if self._fill_is_video else load_asset(s.fill, height, width, field="settings.fill")
        tone = s_curve(s.portrait_contrast) ** s.portrait_gamma
        tone = s.portrait_lift + (1.0 - s.portrait_lift) * np.clip(tone, 0.0, 1.0)
        self._tone_lut = curve_lut(tone)
        self._small = reduced_size(height, width, 320)
        self._feather_sigma = s.feather * self._small[0]
        # the silhouette dissolves from the bottom up: 1 above, 0 at the bottom edge (a smooth ramp
        # across whole rows: the dissolve adds no edge of its own)
        rows = np.linspace(0.0, 1.0, height, dtype=np.float32)
        fade = smoothstep((1.0 - rows) / max(s.fade, 1e-3)) if s.fade > 0 else np.ones_like(rows)
        self._fade = np.ascontiguousarray(np.repeat(np.rint(fade * 255).astype(np.uint8)[:, None], width, 1))
        self._weighted_fills: OrderedDict[int, np.ndarray] = OrderedDict()
        self._edge_colour = EdgeColour(height, width, scratch=self._scratch) if s.decontaminate else None
        #: a still scene's head step, silhouette box and grey edge estimate, reused while the mask is the same
        self._kept: tuple[int, tuple[int, int, int, int] | None, np.ndarray | None] | None = None

    def _head_step(self, person_small: np.ndarray) -> int:
        """The top of the silhouette (the crown of the head) in _HEAD_STEPS of the frame height."""
        rows = np.flatnonzero(person_small.max(axis=1) > 0.5)
        top = rows[0] / person_small.shape[0] if rows.size else 0.0
        return round(top * _HEAD_STEPS)

    def _fill_for(self, head_step: int, frame: np.ndarray) -> np.ndarray:
        """The fill as the blend needs it (inverted for screen), held back over the head: a still fill
        is made once per head position (a small cache), a video fill from its current frame (mid grey
        until the clip's first frame arrives)."""
        if not self._fill_is_video:
            cached = self._weighted_fills.get(head_step)
            if cached is not None:
                self._weighted_fills.move_to_end(head_step)
                return cached
            fill = self._fill
        else:
            fill = self.video_background
            if fill is None or fill.shape != frame.shape:
                fill = np.full_like(frame, 128)
        height = fill.shape[0]
        s = self.settings
        top = head_step / _HEAD_STEPS
        span = max(1.0 - top, 0.2)
        rows = (np.arange(height, dtype=np.float32) / height - top) / span
        # clear over the face (the top ~45% of the figure, a head-and-shoulders framing), full fill
        # from the chest down
        weight = 1.0 - s.face_clear * (1.0 - smoothstep((rows - 0.32) / 0.28))
        weight3 = weight[:, None, None].astype(np.float32)
        if s.blend == "screen":      # screen with a darker fill leaves the portrait: weight the fill
            made = 255 - np.rint(fill * weight3).astype(np.uint8)
        elif s.blend == "multiply":  # multiply with a lighter fill leaves it: weight towards white
            made = np.rint(255 - (255 - fill.astype(np.float32)) * weight3).astype(np.uint8)
        else:
            made = np.rint(fill * weight3).astype(np.uint8)
        made = np.ascontiguousarray(made)
        if not self._fill_is_video:
            self._weighted_fills[head_step] = made
            if len(self._weighted_fills) > 3:
                self._weighted_fills.popitem(last=False)
        return made

    def _exposed(self, grey: np.ndarray, fill: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The toned portrait (uint8 grey, toned in place) blended with the fill inside ``box`` (a scratch
        buffer, valid inside the box only)."""
        y0, y1, x0, x1 = box
        shape = (grey.shape[0], grey.shape[1], 3)
        grey = grey[y0:y1, x0:x1]
        cv2.LUT(grey, self._tone_lut, dst=grey)
        blend = self.settings.blend
        if blend == "screen":
            cv2.bitwise_not(grey, dst=grey)
        portrait = cv2.merge((grey, grey, grey), dst=self._scratch.get("portrait", shape)[:y1 - y0, :x1 - x0])
        exposed = self._scratch.get("exposed", shape)
        out = exposed[y0:y1, x0:x1]
        fill = fill[y0:y1, x0:x1]
        if blend == "screen":
            cv2.multiply(portrait, fill, dst=out, scale=_INV255)
            cv2.bitwise_not(out, dst=out)
        elif blend == "multiply":
            cv2.multiply(portrait, fill, dst=out, scale=_INV255)
        else:
            cv2.max(portrait, fill, dst=out)
        return exposed

    def _silhouette(self, person_small: np.ndarray, height: int, width: int
                    ) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
        """The feathered silhouette, not yet faded (uint8, a scratch buffer valid inside the returned box, 0
        outside it) and its box (top, bottom, left, right; None: nobody). Brought up inside the small
        silhouette's own cells only: everywhere else the whole frame's upsampling would be 0. The composite
        fades it (the compiled pass as it reads each row, so the faded silhouette is never written)."""
        small = person_small
        if self._feather_sigma > 0.3:
            small = cv2.GaussianBlur(small, (0, 0), self._feather_sigma)
        small = cv2.convertScaleAbs(small, alpha=255.0)
        silhouette = self._scratch.get("alpha", (height, width))
        cells = cv2.boundingRect(small)
        if cells[2] == 0 or cells[3] == 0:
            return silhouette, None
        (top, _, left, _), view = grow_cells(small, height, width, cells, silhouette)
        box = alpha_box(view)
        if box is None:
            return silhouette, None
        return silhouette, (box[0] + top, box[1] + top, box[2] + left, box[3] + left)

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        kept = self._kept if self.same_mask and mask is not None else None
        self._kept = None
        if mask is None:
            return self._ground.copy()
        height, width = mask.shape
        if kept is not None:
            # a still scene with the same mask: the last silhouette, its box and the edge colour estimate
            # (the silhouette and the estimate's weight stay in their scratch buffers), this frame's portrait
            self._kept = kept
            head_step, box, estimate = kept
            fill = self._fill_for(head_step, frame)
            silhouette = self._scratch.get("alpha", (height, width))
            weight = self._scratch.get("edge.weight", (height, width))
        else:
            alpha = mask_to_alpha(mask)
            person_small = shrink_alpha(alpha, self._small)
            head_step = self._head_step(person_small)
            fill = self._fill_for(head_step, frame)
            silhouette, box = self._silhouette(person_small, height, width)
            estimate = weight = None
            if box is not None and self._edge_colour is not None:
                edge = self._edge_colour
                small_mask = person_small if edge.size == self._small else shrink_alpha(alpha, edge.size)
                estimate = edge.grey_estimate(edge.estimate(shrink(frame, edge.size), small_mask))
                weight = edge.weight(alpha)
            if self.scene_still:
                self._kept = (head_step, box, estimate)   # the estimate is a new array: no copy needed
        out = np.empty_like(self._ground)
        if box is None:
            np.copyto(out, self._ground)
            return out
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY, dst=self._scratch.get("grey", (height, width)))
        # the compiled pass blends the decontaminated edge into the grey as it reads it
        edge = self._grown_edge(estimate, weight) if estimate is not None and compiled is not None else None
        if estimate is not None and edge is None:
            # the portrait is monochrome: the decontaminated edge is blended in as luma (one channel)
            grey = self._edge_colour.apply(grey, estimate, weight,
                                           out=self._scratch.get("grey_edge", grey.shape))
        return self._compose(grey, fill, silhouette, box, out, edge)

    def _grown_edge(self, estimate: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The edge estimate's grey brought up to full size where its weight is not 0 (EdgeColour.apply's cells,
        into a scratch buffer stale elsewhere, where the weight is 0) and the weight: what EdgeColour.apply
        blends into the grey, for the compiled pass to blend as it reads the grey (no blended grey written).
        None: EdgeColour.apply's own way (the weight is 0 everywhere, or the grown cells miss some of it)."""
        height, width = weight.shape
        x, y, w, h = cv2.boundingRect(weight)
        if w == 0 or h == 0:
            return None
        scale_y, scale_x = estimate.shape[0] / height, estimate.shape[1] / width
        cx, cy = int(x * scale_x), int(y * scale_y)
        cells = (cx, cy, math.ceil((x + w) * scale_x) - cx, math.ceil((y + h) * scale_y) - cy)
        grown = self._scratch.get("edge.grown", (height, width))
        (top, bottom, left, right), _ = grow_cells(estimate, height, width, cells, grown)
        if top > y or bottom < y + h or left > x or right < x + w:   # not expected: grow_cells widens
            return None
        return grown, weight

    def _compose(self, grey: np.ndarray, fill: np.ndarray, silhouette: np.ndarray, box: tuple[int, int, int, int],
                 out: np.ndarray, edge: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """The exposure (portrait p, the prepared fill m) onto the ground g through the silhouette s (faded here),
        the blend and the composite in one: for screen, g + s (255 - g) - s (255 - p) m, for multiply
        g (1 - s) + s p m, for lighten max(p, m) s + g (1 - s). Into ``out``; ``grey`` may be changed.
        ``edge`` (compiled only): _grown_edge's layers, blended into the grey first."""
        if compiled is None:
            return self._compose_opencv(grey, fill, silhouette, box, out)
        # one pass over the box (exposure_pass.c): the same integer arithmetic as _compose_opencv's calls, so
        # the same pixels; the ground outside the box, written once
        y0, y1, x0, x1 = box
        copy_outside(out, self._ground, box)
        inside = (slice(y0, y1), slice(x0, x1))
        compiled.exposure_compose(grey[inside], self._tone_lut.reshape(1, 256), silhouette[inside],
                                  self._fade[y0:y1, :1], self._ground[inside], fill[inside], out[inside],
                                  self.settings.blend, *(layer[inside] for layer in edge or ()))
        return out

    def _compose_opencv(self, grey: np.ndarray, fill: np.ndarray, silhouette: np.ndarray,
                        box: tuple[int, int, int, int], out: np.ndarray) -> np.ndarray:
        """_compose as OpenCV calls (where the compiled passes are not built): for screen and multiply two
        3-channel multiplies a strip, the portrait's part in one channel (the 255 - g is made once); the
        portrait is toned in ``grey`` itself."""
        y0, y1, x0, x1 = box
        faded = self._scratch.get("faded", silhouette.shape)
        cv2.multiply(silhouette[y0:y1, x0:x1], self._fade[y0:y1, x0:x1], scale=_INV255, dst=faded[y0:y1, x0:x1])
        silhouette = faded
        blend = self.settings.blend
        if blend == "lighten":
            return blend_in_box(self._exposed(grey, fill, box), self._ground, silhouette, out, self._scratch,
                                box=box)
        np.copyto(out, self._ground)
        # strip by strip: each strip's spread weights and products stay in the core's cache (box_blend.py), and
        # each strip is worked across the silhouette's own extent only (where it is 0 both blends are the ground)
        spread = self._scratch.get("spread", (STRIP_ROWS,) + self._ground.shape[1:])
        part = self._scratch.get("part", (STRIP_ROWS,) + self._ground.shape[1:])
        for start in range(y0, y1, STRIP_ROWS):
            stop = min(y1, start + STRIP_ROWS)
            left, _, span, _ = cv2.boundingRect(silhouette[start:stop, x0:x1])
            if span == 0:
                continue
            rows, columns = slice(start, stop), slice(x0 + left, x0 + left + span)
            n = stop - start
            spread_n, part_n = spread[:n, :span], part[:n, :span]
            strip = grey[rows, columns]
            cv2.LUT(strip, self._tone_lut, dst=strip)
            weight = silhouette[rows, columns]
            window, ground, layer = out[rows, columns], self._ground[rows, columns], fill[rows, columns]
            weight3 = cv2.cvtColor(weight, cv2.COLOR_GRAY2BGR, dst=spread_n)
            if blend == "screen":
                portrait = cv2.multiply(weight, cv2.bitwise_not(strip, dst=strip), scale=_INV255, dst=strip)
                cv2.multiply(self._ground_room[rows, columns], weight3, scale=_INV255, dst=part_n)
                cv2.add(ground, part_n, dst=window)
                portrait3 = cv2.cvtColor(portrait, cv2.COLOR_GRAY2BGR, dst=spread_n)
                cv2.multiply(layer, portrait3, scale=_INV255, dst=part_n)
                cv2.subtract(window, part_n, dst=window)
            else:
                portrait = cv2.multiply(weight, strip, scale=_INV255, dst=strip)
                cv2.multiply(ground, weight3, scale=_INV255, dst=part_n)
                cv2.subtract(ground, part_n, dst=window)
                portrait3 = cv2.cvtColor(portrait, cv2.COLOR_GRAY2BGR, dst=spread_n)
                cv2.multiply(layer, portrait3, scale=_INV255, dst=part_n)
                cv2.add(window, part_n, dst=window)
        return out
