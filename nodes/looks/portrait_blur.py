"""Portrait mode: the background blurred like a large-aperture lens, with no halo around the person.

Not for: replacing the background (background_replace.py). Output: BGR.
How: a normalised convolution at reduced size. The background is blurred with the person's pixels
weighted out (blur(frame * w) / blur(w), w = background weight pushed away from the edge), so the
person's colours never smear into the blur; bright points get extra weight so they bloom like bokeh.
The lens kernel is a separable binomial (a discrete Gaussian with the disc's spread): its spectrum,
cos^n, falls monotonically to zero with no negative lobe, so highlights bloom into soft round blobs
without the ripple rings a hard-edged disc aperture (a jinc spectrum) printed around them.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...graph.options import check_ranges
from ..frame_passes import compiled
from ..shared_shrink import shrink_twice_then_area
from .blend import draw_over, mask_to_alpha
from .look import Look
from .reduced import grow, reduced_size, shrink
from .scratch import Scratch

_FLOOR = 1e-3
#: the aperture's radius in working pixels: it sets the working grid (at 720p and the default radius,
#: 159x89; the kernel 13 taps). 5 px (a 227x128 grid, 25 taps) looked the same at 100% and measured within
#: 45-57 dB PSNR of this on real portraits and clips (the blur's spread is 2.5 cells of this grid either
#: way wide enough for a bilinear grow), for 0.55 ms a 720p frame more.
APERTURE_WORKING_PX = 3.5
#: the long side of the frame's small copy the chain's segment (gate) and smooth (flow) nodes already made
#: (nodes/shared_shrink.py: 256x144 at 720p): the working grid is taken from it when it fits inside
SHARED_LONG_SIDE = 256


def lens_kernel(radius: float) -> np.ndarray:
    """The 1-D lens kernel (float32, sums to 1) for an aperture of ``radius`` working px: binomial
    coefficients of an even order n ~ radius^2, so the 2-D kernel's spread along an axis (radius / 2)
    matches a disc of that radius. Applied separably (rows, then columns). The order is even so the
    kernel has an odd number of taps and a centre: an even-length kernel shifted the whole background
    by half a working pixel (3 px at 720p), and OpenCV filters a symmetric odd kernel 2.4x faster."""
    order = 2 * max(1, round(radius * radius / 2))
    row = np.ones(1, np.float64)
    for _ in range(order):
        row = np.convolve(row, (0.5, 0.5))
    return row.astype(np.float32).reshape(-1, 1)


class PortraitBlur(Look):
    name = "blur"
    summary = "portrait mode: a lens-like background blur with bokeh highlights and no halo"

    @dataclass(frozen=True)
    class Settings:
        radius: float = 0.022          # blur radius as a fraction of the frame width
        bokeh: float = 0.6             # 0..1: how much bright points bloom
        background_dim: float = 0.08   # 0..0.6: darken the background a touch so the person leads
        work_long_side: int = 320      # upper bound of the blur's working size (long side, px)

        def __post_init__(self):
            check_ranges(self, radius=(0.002, 0.1), bokeh=(0, 1), background_dim=(0, 0.6),
                         work_long_side=(64, 1280))

    def prepare(self, height: int, width: int) -> None:
        s = self.settings
        # pick the working width so the aperture is APERTURE_WORKING_PX working pixels: the separable
        # kernel is then ~13 taps per pass on a grid of at most work_long_side px
        work_width = APERTURE_WORKING_PX / s.radius
        long_side = int(np.clip(work_width * max(height, width) / width, 64, s.work_long_side))
        self._small = reduced_size(height, width, long_side)
        shared = reduced_size(height, width, SHARED_LONG_SIDE)
        # the frame's shared small copy (an area-quality average, free in the chain when the segment or
        # smooth node made it for this very frame) when the grid fits inside it and the frame is 2x larger
        self._shared = shared if (shared[0] >= self._small[0] and shared[1] >= self._small[1]
                                  and width >= 2 * shared[0] and height >= 2 * shared[1]) else None
        radius = max(1.0, s.radius * self._small[0])
        self._kernel = lens_kernel(radius)
        # brightness -> extra weight (bokeh): only the top of the range blooms
        level = np.arange(256, dtype=np.float32) / 255.0
        bloom = np.clip((level - 0.72) / 0.28, 0.0, 1.0) ** 2
        self._bloom_lut = (1.0 + 6.0 * s.bokeh * bloom).astype(np.float32)
        # person alpha -> background weight: 0 from half-way up the edge inwards, so pixels mixed with
        # the person do not count; a small floor keeps a plain blur deep inside the person where no
        # background is near
        self._background_lut = np.clip(1.0 - 2.0 * level, _FLOOR, 1.0).astype(np.float32)
        self._gain = 1.0 - s.background_dim
        self._scratch = Scratch()
        # a still scene's blurred background, to reuse: grown to the frame, or its small grid (compiled), and
        # the frame shape it was made for
        self._still_background: np.ndarray | None = None
        self._kept_for: tuple[int, ...] | None = None

    def _blurred_background(self, frame: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        if self._shared is not None:
            small = shrink_twice_then_area(frame, self._shared)
            if (small.shape[1], small.shape[0]) != self._small:   # bilinear: a ratio under 2, 0.02 ms
                small = cv2.resize(small, self._small, interpolation=cv2.INTER_LINEAR)
        else:
            small = shrink(frame, self._small)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        weight = cv2.LUT(grey, self._bloom_lut)
        if alpha is not None:
            # the 8-bit alpha, not the float mask, is shrunk: a quarter of the bytes to read at 720p
            weight *= cv2.LUT(shrink(alpha, self._small), self._background_lut)
        stack = cv2.merge((*cv2.split(small.astype(np.float32) * weight[..., None]), weight))
        summed = cv2.sepFilter2D(stack, -1, self._kernel, self._kernel, borderType=cv2.BORDER_REFLECT)
        scale = self._gain / summed[..., 3]
        blurred = summed[..., :3] * scale[..., None]
        return cv2.convertScaleAbs(blurred)

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        alpha = None if mask is None else mask_to_alpha(mask, out=self._scratch.get("blur.alpha", mask.shape))
        height, width = frame.shape[:2]
        if alpha is None:
            return grow(self._blurred_background(frame, None), height, width)
        # the compiled blend grows the background from its small grid itself, bit for bit what cv2.resize to
        # the frame gives, so it never exists at the frame's size and both paths give the same pixels (grow +
        # blend at 720p: 1.17 ms as OpenCV calls; 0.64 with the grid grown across by cv2.resize and its rows
        # interpolated in the blend, within 2 levels; 0.57-0.64 now). Without it, cv2.resize grows it here.
        kept = self._still_background
        if self.same_mask and kept is not None and self._kept_for == frame.shape:
            # a still scene with the last frame's mask: the blur of the last frame's surroundings again
            # (the blur averages the sensor noise away anyway); the person is drawn from this frame
            background = kept
        else:
            background = self._blurred_background(frame, alpha)
            if compiled is None:
                background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
            # kept only in a still scene: the small grid alone where the compiled blend grows it
            self._still_background = background if self.scene_still else None
            self._kept_for = frame.shape
        if compiled is not None:
            out = np.empty_like(frame)
            compiled.blend(frame, alpha, background, alpha, out)
            return out
        # over the whole frame: blending inside the person's box only (box_blend.py) was slower here, 1.53
        # against 0.91 ms with its box (numpy, 0.21 ms; cv2.boundingRect 0.24-0.38) for a 62% box; drawn
        # into a copy when the background is kept for the next frame
        canvas = background.copy() if background is self._still_background else background
        return draw_over(frame, alpha, canvas, scratch=self._scratch)
