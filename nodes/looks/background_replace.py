"""Background replace and colour pop: a chosen image, colour or the frame's own greyscale behind the
person, with light wrap so the person sits in the scene.

Not for: blurring the real background (portrait_blur.py). Output: BGR; BGRA (alpha = person, edges
colour-decontaminated: cutout.py's cut_out) when ``background = "transparent"``.
background: "procedural:NAME" | "#rrggbb" | an image path | a video path (looped, at its own rate: the
chain decodes it in a background_video node) | "greyscale" (colour pop) | "transparent".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ...graph.options import check_ranges
from ..background_video import is_video_background
from ..frame_passes import compiled
from ..light_wrap import LightWrap
from .assets import load_asset
from .blend import alpha_blend, mask_to_alpha
from .box_blend import (
    STRIP_ROWS,
    alpha_and_box,
    alpha_box,
    blend_in_box,
    box_cells,
    cells_to_grow,
    grow_box,
    mix_in_box,
)
from .cutout import cut_out
from .edge_colour import WORK_LONG_SIDE, EdgeColour
from .grading import curve_lut, s_curve
from .look import Look
from .reduced import grow_cells, reduced_size, shrink, shrink_alpha
from .scratch import Scratch

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
        # edge colour and light wrap both run on one small grid and come back in one mix (_compose)
        self._edge_colour = EdgeColour(height, width, scratch=self._scratch)
        self._grid = reduced_size(height, width, WORK_LONG_SIDE)
        self._wrap = _GridWrap(self._grid, s.wrap_width, s.light_wrap) if s.light_wrap > 0 else None
        self._grey_lut = curve_lut(s_curve(s.greyscale_contrast) * (1.0 - s.background_dim))
        self._background = self._glow = None
        #: a still scene's last mix, to reuse while the mask stays the same (see _compose): its box; its
        #: weights and edge layer stay in the scratch buffers, which nothing else writes. With the compiled
        #: passes (_compose_compiled): the box and plates_mix's small-grid arguments
        self._kept_mix: Any = None
        self._kept_pop: tuple[tuple[int, int, int, int] | None, np.ndarray] | None = None
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
        if self._wrap is not None:   # a still background: its glow too, once
            self._glow = self._wrap.glow(background, self._grid)

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if self.settings.background == TRANSPARENT:
            return cut_out(frame, mask, decontaminate=self.settings.decontaminate,
                           edge_colour=self._edge_colour, keep=self.scene_still, reuse=self.same_mask,
                           scratch=self._scratch)
        if self._background is None and not self._video:
            return self._colour_pop(frame, mask)
        background = self._video_plate(frame) if self._video else self._background
        if mask is None:
            self._kept_mix = None
            return background.copy()
        if self.same_mask and self._kept_mix is not None:
            if compiled is not None:
                box, parts = self._kept_mix
                out = np.empty_like(frame)
                compiled.plates_mix(frame, alpha_and_box(mask)[0], background, out, box, **parts)
                return out
            return self._mix(frame, background, self._kept_mix)
        self._kept_mix = None
        if compiled is not None:
            return self._compose_compiled(frame, *alpha_and_box(mask), background)
        alpha = mask_to_alpha(mask)
        return self._compose(frame, mask, alpha, background)

    def _mix(self, frame: np.ndarray, background: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The last mix of _compose again with this frame: its weights and its edge layer (the edge colour
        estimate and the glow, made from the same mask and the still surroundings) kept in the scratch
        buffers; the person's pixels from this frame, the background this frame's (a video's moves)."""
        scratch, plane = self._scratch, frame.shape[:2]
        layers = [(frame, scratch.get("on_frame", plane)), (scratch.get("layer", frame.shape),
                  scratch.get("on_layer", plane)), (background, scratch.get("behind", plane))]
        return mix_in_box(layers, background, np.empty_like(frame), box, scratch)

    def _compose(self, frame: np.ndarray, mask: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
        """The person onto the new background with the decontaminated colour at soft edges (share e) and the
        background's light over the rim (share w, the wrap). Both are smooth, so they are one small layer T:
        person = frame * (1 - k) + T * k, k = 1 - (1 - e)(1 - w), T = ((1 - w) e F + w glow) / k, made on the
        small grid; k is worked out per full-size pixel (it carries the edge's detail), in one channel. The
        person's blend and the blend onto the background are then one mix of three layers:
        frame * a(1 - k) + T * ak + background * (1 - a)."""
        edge, wrap = self._edge_colour, self._wrap
        decontaminate = self.settings.decontaminate
        out = np.empty_like(frame)
        box = alpha_box(alpha)
        if not decontaminate and wrap is None:
            return blend_in_box(frame, background, alpha, out, self._scratch, box=box)
        small_frame, small_mask = shrink(frame, self._grid), shrink_alpha(alpha, self._grid)
        small_alpha = mask_to_alpha(small_mask)
        plane = alpha.shape
        if box is None:
            return blend_in_box(frame, background, alpha, out, self._scratch, box=box)
        # full-size weights are worked out inside the person's box only (the mix reads nothing else)
        y0, y1, x0, x1 = box
        def boxed(name: str) -> np.ndarray:
            return self._scratch.get(name, plane)[y0:y1, x0:x1]
        inside = alpha[y0:y1, x0:x1]
        zero_small = np.zeros(small_alpha.shape, np.uint8)
        if decontaminate:
            estimate = edge.estimate(small_frame, small_mask)
            e_small, e_full = edge.weight(small_alpha, name="e.small"), edge.weight(inside, out=boxed("e_full"))
        else:
            estimate, e_small, e_full = small_frame, zero_small, None
        if wrap is not None:
            glow = self._glow if self._glow is not None else wrap.glow(background, self._grid)
            reach = wrap.reach(small_mask)
            w_small = cv2.multiply(cv2.resize(reach, self._grid, interpolation=cv2.INTER_LINEAR), small_alpha,
                                   scale=_INV255)
            w_full = cv2.multiply(grow_box(reach, *plane, box, self._scratch.get("reach", plane)), inside,
                                  scale=_INV255, dst=boxed("w_full"))
        else:
            glow, w_small, w_full = small_frame, zero_small, None
        # T on the small grid: T = F + (w / k)(glow - F), a blend of glow over F by w / k (0 where k is 0)
        share_f = cv2.multiply(cv2.bitwise_not(w_small), e_small, scale=_INV255)
        k_small = cv2.add(share_f, w_small)
        small_layer = alpha_blend(glow, estimate, cv2.divide(w_small, k_small, scale=255.0))
        # k per full-size pixel: 255 - (255 - e)(255 - w) / 255
        if e_full is None:
            k_full = w_full
        elif w_full is None:
            k_full = e_full
        else:
            cv2.bitwise_not(e_full, dst=e_full)
            cv2.bitwise_not(w_full, dst=w_full)
            k_full = cv2.bitwise_not(cv2.multiply(e_full, w_full, scale=_INV255, dst=e_full), dst=e_full)
        # the small layer brought up where k is not 0 (and only there does the layer get a share)
        cells = cv2.boundingRect(k_small)
        if cells[2] == 0 or cells[3] == 0:
            return blend_in_box(frame, background, alpha, out, self._scratch, box=box)
        layer = self._scratch.get("layer", frame.shape)
        (top, bottom, left, right), _ = grow_cells(small_layer, *plane, cells, layer)
        top, bottom, left, right = max(top, y0), min(bottom, y1), max(left, x0), min(right, x1)
        on_layer = self._scratch.get("on_layer", plane)
        on_layer[y0:y1, x0:x1] = 0
        if bottom > top and right > left:
            cv2.multiply(alpha[top:bottom, left:right], k_full[top - y0:bottom - y0, left - x0:right - x0],
                         scale=_INV255, dst=on_layer[top:bottom, left:right])
        on_frame = self._scratch.get("on_frame", plane)
        cv2.subtract(inside, on_layer[y0:y1, x0:x1], dst=on_frame[y0:y1, x0:x1])
        behind = self._scratch.get("behind", plane)
        cv2.bitwise_not(inside, dst=behind[y0:y1, x0:x1])
        # a still scene keeps the mix for its next frames with the same mask (no copy: the buffers stay as
        # they are until the next _compose); not with a moving video's glow in the edge layer
        if self.scene_still and (not self._video or wrap is None):
            self._kept_mix = box
        return mix_in_box([(frame, on_frame), (layer, on_layer), (background, behind)], background, out, box,
                          self._scratch)

    def _compose_compiled(self, frame: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int] | None,
                          background: np.ndarray) -> np.ndarray:
        """_compose's mix in one compiled pass over the frame, the same pixels: T and k's small-grid parts made
        as there; the full-size weights (e, w, k and the three shares) worked out per pixel in the pass, the
        wrap's reach and the layer T grown from their grids row by row (plates_pass.c's plates_mix)."""
        wrap = self._wrap
        out = np.empty_like(frame)
        if box is None:
            np.copyto(out, background)
            return out
        parts: dict[str, Any] = {}
        if self.settings.decontaminate or wrap is not None:
            parts = self._small_parts(frame, alpha, background, box)
        if self.scene_still and (not self._video or wrap is None):
            # kept for the next frames with the same mask (the small grids' parts are new arrays)
            self._kept_mix = (box, parts)
        compiled.plates_mix(frame, alpha, background, out, box, **parts)
        return out

    def _small_parts(self, frame: np.ndarray, alpha: np.ndarray, background: np.ndarray,
                     box: tuple[int, int, int, int]) -> dict[str, Any]:
        """plates_mix's arguments for _compose's edge colour and light wrap: the small layer T (see _compose)
        and the wrap's reach, as cells of their grids with the full-size boxes they come up to; none when
        k is 0 everywhere (a plain blend)."""
        edge, wrap = self._edge_colour, self._wrap
        plane = alpha.shape
        small_frame, small_mask = shrink(frame, self._grid), shrink_alpha(alpha, self._grid)
        small_alpha = mask_to_alpha(small_mask)
        zero_small = np.zeros(small_alpha.shape, np.uint8)
        parts: dict[str, Any] = {"edge": self.settings.decontaminate}
        if self.settings.decontaminate:
            estimate, e_small = edge.estimate(small_frame, small_mask), edge.weight(small_alpha, name="e.small")
        else:
            estimate, e_small = small_frame, zero_small
        if wrap is not None:
            glow = self._glow if self._glow is not None else wrap.glow(background, self._grid)
            reach = wrap.reach(small_mask)
            w_small = cv2.multiply(cv2.resize(reach, self._grid, interpolation=cv2.INTER_LINEAR), small_alpha,
                                   scale=_INV255)
            parts["reach"], parts["reach_box"] = box_cells(reach, *plane, box)
        else:
            glow, w_small = small_frame, zero_small
        share_f = cv2.multiply(cv2.bitwise_not(w_small), e_small, scale=_INV255)
        k_small = cv2.add(share_f, w_small)
        cells = cv2.boundingRect(k_small)
        if cells[2] == 0 or cells[3] == 0:
            return {}
        small_layer = alpha_blend(glow, estimate, cv2.divide(w_small, k_small, scale=255.0))
        parts["layer"], parts["layer_box"] = cells_to_grow(small_layer, *plane, cells)
        return parts

    def _colour_pop(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """The scene itself in contrasty grey behind the person in colour, its grey light wrapped over the
        rim. Person, wrap and background in one pass: result = frame * a(1 - w) + [a w glow + (1 - a) grey],
        w = the wrap's weight (reach * a); the bracket is one channel, so only one 3-channel multiply is left."""
        kept = self._kept_pop
        if self.same_mask and mask is not None and kept is not None:
            return self._pop_again(frame, *kept)
        self._kept_pop = None
        grey = self._scratch.get("pop.grey", frame.shape[:2])
        out = np.empty_like(frame)
        # the scene in grey, in all three channels; the person's box is then drawn over
        if compiled is not None:   # the same pixels in one pass (luma, table, spread)
            compiled.grey_scene(frame, self._grey_lut, grey, out)
        else:
            cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY, dst=grey), self._grey_lut, dst=grey)
            cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR, dst=out)
        if mask is None:
            return out
        plane = frame.shape[:2]
        alpha, box = alpha_and_box(mask)
        if self.scene_still:
            # the grey scene kept (a copy: the person is drawn into this one); the person's weights and the
            # light over it stay in their scratch buffers until the next frame that makes them again
            self._kept_pop = (box, out.copy())
        if box is None:
            return out
        if compiled is not None:
            self._pop_compiled(frame, alpha, grey, out, box)
            return out
        y0, y1, x0, x1 = box
        def boxed(name: str, shape: tuple[int, ...] = plane) -> np.ndarray:
            return self._scratch.get(name, shape)[y0:y1, x0:x1]
        inside = alpha[y0:y1, x0:x1]
        behind = cv2.bitwise_not(inside, dst=boxed("pop.behind"))
        light = cv2.multiply(behind, grey[y0:y1, x0:x1], scale=_INV255, dst=boxed("pop.light"))
        keep = inside if self._wrap is None else None
        if self._wrap is not None:
            glow = grow_box(self._wrap.glow(grey), *plane, box, self._scratch.get("pop.glow", plane))
            # the wrap's weight is reach * alpha (on the person only), and the person's share a of that
            reach = grow_box(self._wrap.reach(shrink_alpha(alpha, self._grid)), *plane, box,
                             self._scratch.get("reach", plane))
            wrapped = cv2.multiply(reach, inside, scale=_INV255, dst=boxed("pop.wrapped"))
            cv2.multiply(wrapped, inside, dst=wrapped, scale=_INV255)
            keep = cv2.subtract(inside, wrapped, dst=boxed("pop.keep"))
            cv2.add(light, cv2.multiply(wrapped, glow, scale=_INV255, dst=wrapped), dst=light)
        if keep is not None:   # the person's share is alpha itself: kept for a still scene's next frames
            np.copyto(boxed("pop.keep"), keep)
        self._pop_person(frame, out, box)
        return out

    def _pop_compiled(self, frame: np.ndarray, alpha: np.ndarray, grey: np.ndarray, out: np.ndarray,
                      box: tuple[int, int, int, int]) -> None:
        """_colour_pop's shares and its person in one compiled pass over the box: the same arithmetic, with the
        wrap's glow and reach grown in the pass (the same pixels as growing them first). A still scene's shares
        are written to the scratch buffers _pop_person reads."""
        plane = frame.shape[:2]
        wrap = {}
        if self._wrap is not None:   # both on the wrap's half grid: the same cells
            glow, grown = box_cells(self._wrap.glow(grey), *plane, box)
            reach, _ = box_cells(self._wrap.reach(shrink_alpha(alpha, self._grid)), *plane, box)
            wrap = {"reach": reach, "glow": glow, "grown_box": grown}
        shares = {}
        if self.scene_still:
            shares = {"keep": self._scratch.get("pop.keep", plane), "light": self._scratch.get("pop.light", plane)}
        compiled.pop_person(frame, alpha, grey, out, box, **wrap, **shares)

    def _pop_person(self, frame: np.ndarray, out: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """``out`` = frame * keep + light inside ``box`` (keep, light, behind: the scratch buffers _colour_pop
        made), strip by strip across the person's own extent (where alpha is 0 the light is the grey scene,
        which ``out`` holds already)."""
        y0, y1, x0, x1 = box
        plane = frame.shape[:2]
        keep, light, behind = (self._scratch.get(name, plane) for name in ("pop.keep", "pop.light", "pop.behind"))
        if compiled is not None:
            # the whole box in one pass, the same pixels: where alpha is 0, keep is 0 and the light is the grey
            # scene, so those pixels come out as ``out`` holds them already
            compiled.keep_add(frame[y0:y1, x0:x1], keep[y0:y1, x0:x1], light[y0:y1, x0:x1], out[y0:y1, x0:x1])
            return
        spread = self._scratch.get("pop.spread", (STRIP_ROWS,) + frame.shape[1:])
        present = self._scratch.get("pop.present", (STRIP_ROWS, frame.shape[1]))
        for start in range(y0, y1, STRIP_ROWS):
            stop = min(y1, start + STRIP_ROWS)
            rows = stop - start
            offset, _, width, _ = cv2.boundingRect(cv2.bitwise_not(behind[start:stop, x0:x1],
                                                                   dst=present[:rows, :x1 - x0]))
            if width == 0:
                continue
            columns = slice(x0 + offset, x0 + offset + width)
            window = out[start:stop, columns]
            keep3 = cv2.cvtColor(keep[start:stop, columns], cv2.COLOR_GRAY2BGR, dst=spread[:rows, :width])
            cv2.multiply(frame[start:stop, columns], keep3, scale=_INV255, dst=window)
            light3 = cv2.cvtColor(light[start:stop, columns], cv2.COLOR_GRAY2BGR, dst=spread[:rows, :width])
            cv2.add(window, light3, dst=window)

    def _pop_again(self, frame: np.ndarray, box: tuple[int, int, int, int] | None,
                   scene: np.ndarray) -> np.ndarray:
        """A still scene's colour pop with the same mask: the grey scene and the light over the person
        (its wrap's glow) as the last frame made them, the person's own colour from this frame."""
        out = scene.copy()
        if box is not None:
            self._pop_person(frame, out, box)
        return out

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


class _GridWrap:
    """The light wrap's two blurs (the background's glow, the reach inside the person's edge) on half the
    look's small grid: both are wide, soft Gaussians (sigma ~5 grid cells at 720p), so half the grid
    loses nothing visible and costs a quarter. Built on nodes/light_wrap.py's LightWrap at that size."""

    def __init__(self, grid: tuple[int, int], wrap_width: float, strength: float):
        self._half = (max(8, grid[0] // 2), max(8, grid[1] // 2))
        # wrap_width has always been the reach blur's sigma (a fraction of the frame width); LightWrap's
        # width_px is two sigmas, here in the half grid's pixels
        self._wrap = LightWrap(self._half[1], self._half[0], width_px=2.0 * wrap_width * self._half[0],
                               strength=strength)
        self._solid = np.full((self._half[1], self._half[0]), 255, np.uint8)

    def glow(self, light: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """The light (uint8 BGR or grey, any size) scattered, at ``size`` (cv2 width, height; None: the half
        grid it is made on)."""
        glow = self._wrap.glow(shrink(light, self._half))
        return glow if size is None else cv2.resize(glow, size, interpolation=cv2.INTER_LINEAR)

    def reach(self, mask: np.ndarray) -> np.ndarray:
        """uint8 share of the glow on the half grid, before the person's own alpha: ``strength`` right at
        the edge, falling off inside (and outside: the caller multiplies by alpha)."""
        return self._wrap.weight(shrink(mask, self._half), self._solid)
