"""Stencil art: the person posterised to two or three flat spray-paint tones, with a clean knife-cut
edge and overspray, on a weathered wall; the background is gone. An optional title is sprayed as a poster
caption under the portrait (a bold word on an ink band, as on a stencil campaign poster).

Not for: halftone or glow fringes (nodes/fringe.py offers those as mask styles). Output: BGR.
Cut the way stencil artists prepare a photo (desaturate, even out the contrast, a median filter before
the threshold, then smooth curvy shapes with no islands too small to cut): the grey is equalised
locally (CLAHE) and median-filtered at working size; tone thresholds follow the head's own
brightness (quantiles inside the top of the silhouette), so the layers split every face into 2-3
flat areas whatever the exposure; the cut layers lose every island smaller than the knife's scale (a majority filter
on the tone labels); each layer's edge is then smoothed and re-cut at full size, so shapes are crisp
and curved, not pixel stairs. The silhouette is cut the same way (a clean edge); ``spray`` adds a
fine mist of droplets just outside it, and ``overspray`` a haze of ink around the figure.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...graph.options import check_ranges
from ..frame_passes import compiled
from .assets import load_asset, parse_colour
from .box_blend import copy_outside
from .look import Look
from .reduced import grow_cells, reduced_size, shrink
from .scratch import Scratch
from .typesetting import TypeStyle, fit_line, stamp_onto

_INV255 = 1.0 / 255.0


def _shade(haze: np.ndarray, overspray: float) -> np.ndarray:
    """uint8 multiplier: 255 away from the figure, darker where the spray drifted."""
    return np.clip(255.0 - 220.0 * overspray * haze, 0, 255).astype(np.uint8)


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The smallest (top, bottom, left, right) box holding all ``boxes`` (an empty box for none)."""
    if not boxes:
        return (0, 0, 0, 0)
    return (min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes))


class Stencil(Look):
    name = "stencil"
    summary = "street stencil: flat spray-paint tones, stippled edge and overspray on a wall"

    @dataclass(frozen=True)
    class Settings:
        tones: int = 3                       # 2 or 3 paint layers
        ink: str = "#16203a"                 # darkest paint
        mid: str = "#c8332b"                 # middle paint (3 tones only)
        light: str = "#f1e3c3"               # lightest paint
        wall: str = "procedural:wall"
        smoothness: float = 0.004            # shape smoothing before the cut, fraction of width
        spray: float = 0.0                   # 0..1: a mist of droplets just outside the cut
        overspray: float = 0.35              # 0..1: haze of ink around the figure
        paint_texture: float = 0.5           # 0..1: how much of the wall shows through the paint
        title: str = ""                      # caption under the portrait ("" = none), set in capitals

        def __post_init__(self):
            if self.tones not in (2, 3):
                raise ValueError(f"tones must be 2 or 3, got {self.tones}")
            for name in ("ink", "mid", "light"):
                parse_colour(getattr(self, name), field=name)
            check_ranges(self, smoothness=(0, 0.05), spray=(0, 1), overspray=(0, 1), paint_texture=(0, 1))
            if len(self.title) > 40:
                raise ValueError(f"title must be at most 40 characters, got {len(self.title)}")

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        self._scratch = Scratch()
        #: a still scene's small mask, cut cells and hazed wall, reused while the mask stays the same
        self._kept: tuple[np.ndarray, tuple[int, int, int, int] | None, np.ndarray] | None = None
        wall = load_asset(s.wall, height, width, field="settings.wall")
        self._small = reduced_size(height, width, 480)
        self._wall = wall
        # paint takes the wall's relief: a multiplier near white, darker in the pits and stains
        grey = cv2.cvtColor(wall, cv2.COLOR_BGR2GRAY).astype(np.float32)
        relief = 1.0 - s.paint_texture * 0.45 * (1.0 - grey / max(float(grey.max()), 1.0))
        relief8 = np.clip(np.rint(relief * 255), 0, 255).astype(np.uint8)
        self._relief8 = relief8   # what the compiled paint reads (one channel; it multiplies each paint itself)
        self._relief = cv2.merge((relief8, relief8, relief8))
        # spray mist: a fixed noise threshold (so droplets do not boil between frames) that only the
        # upper part of the halo outside the cut exceeds: sparse 1-px droplets, denser near the edge
        rng = np.random.default_rng(5)
        noise = rng.random((height, width), dtype=np.float32)
        self._dither = np.rint(255.0 * (1.0 - 0.5 * s.spray * (1.0 - noise ** 6))).astype(np.uint8)
        small_w = min(self._small)   # the knife's scale follows the frame's short side
        self._smooth_sigma = s.smoothness * small_w
        self._shape_sigma = max(0.8, 0.0035 * small_w)
        self._mist_sigma = max(1.0, 0.008 * small_w)
        self._median_scale, self._island_scale = 0.028, 0.042   # of the head's width
        self._clahe = cv2.createCLAHE(clipLimit=1.2, tileGridSize=(3, 3))
        # the overspray haze is a wide blur (sigma ~5 working px): made on half the working grid
        self._haze_size = (max(8, self._small[0] // 2), max(8, self._small[1] // 2))
        self._overspray_sigma = 0.02 * small_w / 2
        colours = [parse_colour(s.ink), parse_colour(s.light)] if s.tones == 2 else \
            [parse_colour(s.ink), parse_colour(s.mid), parse_colour(s.light)]
        self._colours = colours
        self._colour_table = np.array(colours, np.uint8)   # tones x BGR, for the compiled paint
        palette = np.zeros((256, 1, 3), np.uint8)
        palette[:len(colours), 0] = colours
        self._palette = palette
        # each paint on the wall's relief, made once: painting a frame is then a copy of each tone's plate
        # through its layer of the cut (a colour map and a 3-channel multiply per frame before)
        self._painted = [cv2.multiply(np.full((height, width, 3), colour, np.uint8), self._relief, scale=_INV255)
                         for colour in colours]
        self._caption = self._spray_caption(height, width)

    def _spray_caption(self, height: int, width: int) -> np.ndarray | None:
        """The caption band (bottom rows of the frame, BGR), made once per size: the title in the
        lightest paint on an ink band, both taking the wall's relief like the portrait's paint.
        Sizes are fractions of the frame, so a 4K render looks like a 720p one."""
        title = self.settings.title.strip().upper()
        if not title:
            return None
        band_height = max(8, round(height * 0.16))
        stamp = fit_line(title, width * 0.84, band_height * 0.62, TypeStyle(weight=900, tracking=0.08))
        band = np.empty((band_height, width, 3), np.uint8)
        band[:] = self._colours[0]
        stamp_onto(band, stamp, self._colours[-1], width // 2, (band_height - stamp.shape[0]) // 2)
        return cv2.multiply(band, self._relief[height - band_height:], scale=_INV255)

    def _with_caption(self, out: np.ndarray) -> np.ndarray:
        if self._caption is not None:
            out[out.shape[0] - self._caption.shape[0]:] = self._caption
        return out

    def _tone_levels(self, grey_small: np.ndarray, person_small: np.ndarray) -> list[float]:
        """Thresholds from the head's brightness (the top of the silhouette): the face is what must
        split into its 2-3 tones; a bright suit or a dark coat would otherwise set them."""
        person = person_small > 0.5
        rows = np.flatnonzero(person.any(axis=1))
        if rows.size:
            head_bottom = rows[0] + max(1, int(0.4 * (rows[-1] - rows[0] + 1)))
            person[head_bottom:] = False
        inside = grey_small[person]
        if inside.size < 64:
            inside = grey_small.ravel()
        quantiles = (55,) if self.settings.tones == 2 else (42, 78)
        return [float(q) for q in np.percentile(inside, quantiles)]

    def _knife(self, person_small: np.ndarray) -> tuple[int, int]:
        """(median, island) kernel sizes in working px, from the head's width (the widest row in the top
        fifth of the silhouette): features are cut at the face's scale, so a small face in a wide
        frame keeps its eyes and mouth and a close-up loses its skin texture."""
        person = person_small > 0.5
        rows = np.flatnonzero(person.any(axis=1))
        head_width = float(min(person_small.shape))
        if rows.size:
            head = person[rows[0]:rows[0] + max(1, (rows[-1] - rows[0] + 1) // 5)]
            head_width = float(head.sum(axis=1).max())
        def odd(x: float) -> int:
            return max(3, int(x) | 1)
        return odd(self._median_scale * head_width), odd(self._island_scale * head_width)

    def _covers(self, frame: np.ndarray, person_small: np.ndarray, cells: tuple[int, int, int, int]
                ) -> tuple[list[np.ndarray], tuple[int, int, int, int]]:
        """Each tone layer's cover (1 = ink .. tones-1 = light, uint8, > 127 where the pixel is in the layer)
        brought up to full size inside the person's box (``cells`` on the working grid), as views of scratch
        buffers, and that box (top, bottom, left, right)."""
        height, width = frame.shape[:2]
        grey = shrink(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), self._small)
        grey = self._clahe.apply(grey)
        median_k, island_k = self._knife(person_small)
        grey = cv2.medianBlur(grey, median_k)
        if self._smooth_sigma > 0.3:
            grey = cv2.GaussianBlur(grey, (0, 0), self._smooth_sigma)
        levels = self._tone_levels(grey, person_small)
        labels = np.zeros(grey.shape, np.uint8)
        for level in levels:
            labels += (grey > level).astype(np.uint8)
        # islands smaller than the knife's scale go: a median of the ordered labels is a majority vote
        # between neighbouring layers; twice removes specks and closes pinholes
        labels = cv2.medianBlur(cv2.medianBlur(labels, island_k), island_k)
        covers = []
        for layer in range(1, len(levels) + 1):
            cover = (labels >= layer).astype(np.float32)
            cover = cv2.GaussianBlur(cover, (0, 0), self._shape_sigma)
            # smooth at working size, cut at full size: curved edges at full resolution
            box, view = grow_cells(cv2.convertScaleAbs(cover, alpha=255.0), height, width, cells,
                                   self._scratch.get(f"cover.{layer}", (height, width)))
            covers.append(view)
        return covers, box

    def _layers(self, frame: np.ndarray, person_small: np.ndarray, cells: tuple[int, int, int, int]) -> np.ndarray:
        """The tone index (0 = ink .. tones-1 = light) per full-resolution pixel, uint8, inside the person's
        box (``cells`` on the working grid; 0 outside it, where the cut shows the wall): the OpenCV path's
        (the compiled paint counts the covers itself)."""
        covers, (top, bottom, left, right) = self._covers(frame, person_small, cells)
        index = self._scratch.get("index", frame.shape[:2])
        index.fill(0)
        window = index[top:bottom, left:right]
        for view in covers:
            # one level per layer the pixel is in (OpenCV's threshold: no frame-size numpy arithmetic)
            cv2.add(window, cv2.threshold(view, 127, 1, cv2.THRESH_BINARY, dst=view)[1], dst=window)
        # where two layers' edges nearly meet, the re-cut leaves 1-3 px slivers: a 3x3 median takes them
        cv2.medianBlur(window.copy(), 3, dst=window)
        return index

    def _silhouette(self, person_small: np.ndarray, height: int, width: int,
                    island_k: int) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
        """A clean cut of the person (uint8 0/255 at full size) and the spray mist just outside it: the
        silhouette loses slivers and specks below the knife's scale like the tone layers do. Also the cut's
        cells on the working grid (x, y, w, h; None: nobody), where the paint is worked out."""
        solid = cv2.medianBlur(cv2.compare(person_small, 0.5, cv2.CMP_GT), island_k)
        soft = cv2.GaussianBlur(solid.astype(np.float32) * np.float32(1.0 / 255.0), (0, 0), self._shape_sigma)
        soft8 = cv2.convertScaleAbs(soft, alpha=255.0)
        cut = self._scratch.get("cut", (height, width))
        cut.fill(0)
        cells = cv2.boundingRect(cv2.compare(soft8, 127, cv2.CMP_GT))
        boxes = []   # where the cut may be non-zero (top, bottom, left, right)
        if cells[2] == 0 or cells[3] == 0:
            cells = None
        else:   # brought up and cut inside the person's box only
            box, view = grow_cells(soft8, height, width, cells, self._scratch.get("cover", (height, width)))
            top, bottom, left, right = box
            cv2.compare(view, 127, cv2.CMP_GT, dst=cut[top:bottom, left:right])
            boxes.append(box)
        if self.settings.spray > 0:
            # droplets thin out with distance from the cut (the halo's value), never inside far wall; the
            # dither is never 0, so there are none where the halo is 0: only the halo's box is brought up
            halo = cv2.convertScaleAbs(cv2.GaussianBlur(soft, (0, 0), self._mist_sigma), alpha=255.0)
            reach = cv2.boundingRect(halo)
            if reach[2] and reach[3]:
                box, view = grow_cells(halo, height, width, reach, self._scratch.get("halo", (height, width)))
                top, bottom, left, right = box
                mist = cv2.compare(view, self._dither[top:bottom, left:right], cv2.CMP_GT)
                window = cut[top:bottom, left:right]
                cv2.bitwise_or(window, mist, dst=window)
                boxes.append(box)
        self._cut_box = _union(boxes)
        return cut, cells

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        height, width = frame.shape[:2]
        kept = self._kept if self.same_mask and mask is not None else None
        self._kept = None
        if mask is None:
            return self._with_caption(self._wall.copy())
        if kept is not None:   # a still scene, the same mask: the last cut and haze, this frame's paint
            self._kept = kept
            person_small, cells, ground, self._cut_box = kept
            cut = self._scratch.get("cut", (height, width))
            return self._paint(frame, person_small, cut, cells, ground.copy())
        person_small = shrink(mask, self._small)
        island_k = self._knife(person_small)[1]
        cut, cells = self._silhouette(person_small, height, width, island_k)
        # ground: the wall darkened by an overspray haze around the figure (a multiply, not a blend),
        # written straight into the output frame, which then takes each paint through its layer of the cut
        overspray = self.settings.overspray
        if overspray > 0:
            haze = cv2.GaussianBlur(shrink(person_small, self._haze_size), (0, 0), self._overspray_sigma)
            shade = _shade(haze, overspray)
            # the wall is darkened only where the shade is below 255 (times 255 / 255 is the wall itself)
            drift = cv2.boundingRect(cv2.compare(shade, 255, cv2.CMP_NE))
            if drift[2] and drift[3]:
                box, view = grow_cells(shade, height, width, drift, self._scratch.get("shade", (height, width)))
                out = self._shaded_wall(view, box)
            else:
                out = self._wall.copy()
        else:
            out = self._wall.copy()
        if self.scene_still:
            # kept for the next frames with the same mask (copies: the output is painted into this one, and
            # the small mask may be the caller's buffer); the cut stays in its scratch buffer
            self._kept = (person_small.copy(), cells, out.copy(), self._cut_box)
        return self._paint(frame, person_small, cut, cells, out)

    def _shaded_wall(self, shade: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """A new frame: the wall, darkened inside ``box`` (top, bottom, left, right) by ``shade`` (uint8, the box's
        size: 255 leaves the wall as it is)."""
        top, bottom, left, right = box
        inside = (slice(top, bottom), slice(left, right))
        if compiled is not None:   # the spread and the multiply in one pass (stencil_pass.c), the same pixels
            out = np.empty_like(self._wall)
            copy_outside(out, self._wall, box)
            compiled.stencil_shade(self._wall[inside], shade, out[inside])
            return out
        out = self._wall.copy()
        shade3 = cv2.cvtColor(shade, cv2.COLOR_GRAY2BGR, dst=self._scratch.get("shade3", out.shape)[inside])
        cv2.multiply(self._wall[inside], shade3, scale=_INV255, dst=out[inside])
        return out

    def _paint(self, frame: np.ndarray, person_small: np.ndarray, cut: np.ndarray,
               cells: tuple[int, int, int, int] | None, out: np.ndarray) -> np.ndarray:
        """This frame's tones painted through the cut onto ``out`` (the hazed wall), then the caption."""
        if cells is not None and compiled is not None:
            # the tones counted, their median, each tone's paint on the relief through the cut: one pass
            # (stencil_pass.c, the same pixels as the plates below); the spray's mist beyond the person's box takes
            # the ink tone
            covers, (top, bottom, left, right) = self._covers(frame, person_small, cells)
            if self._cut_box != (top, bottom, left, right):
                mist = (slice(self._cut_box[0], self._cut_box[1]), slice(self._cut_box[2], self._cut_box[3]))
                compiled.stencil_paint([], cut[mist], self._colour_table[:1], self._relief8[mist], out[mist])
            box = (slice(top, bottom), slice(left, right))
            compiled.stencil_paint(covers, cut[box], self._colour_table, self._relief8[box], out[box])
        elif cells is not None:   # the paint, on the wall's relief, through the cut, inside the person's box
            index = self._layers(frame, person_small, cells)
            top, bottom, left, right = self._cut_box
            box = (slice(top, bottom), slice(left, right))
            # a tone no layer has where the cut is closed, then each tone's plate through its own pixels
            tones = self._scratch.get("tones", frame.shape[:2])[box]
            cv2.bitwise_or(index[box], cv2.bitwise_not(cut[box], dst=tones), dst=tones)
            chosen = self._scratch.get("chosen", frame.shape[:2])[box]
            for tone, plate in enumerate(self._painted):
                cv2.copyTo(plate[box], cv2.compare(tones, tone, cv2.CMP_EQ, dst=chosen), out[box])
        return self._with_caption(out)
