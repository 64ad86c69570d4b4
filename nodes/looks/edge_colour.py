"""The person's own colour at soft edges for looks that move the person onto a new ground (replace,
poster, double exposure, the cut-out): foreground.py's blur-fusion estimate, run on a small grid.

Not for: the estimate itself (foreground.py, Forte & Pitie 2021) or transparency (cutout.py).
Why a small grid: the estimate's per-pixel work grows with the edge band (10-15% of a webcam frame's
pixels with the chain's mask): 36-44 ms on a 720p frame, 5-6 ms at 640x360, about 1 ms at 320x180. The
colour of an edge varies slowly along it (the alpha carries the fine detail), so the estimate is made
small, brought back up bilinearly inside the soft edge's box only and blended into the frame where the
mask is soft; solid person and background keep the frame's own pixels. Inside the soft band the estimate
is faded in by softness (full where alpha <= 1/2, none at alpha 1): a mostly-opaque pixel is mostly the
person already, and a hard switch at the band's inner edge would leave a seam between the small estimate
and the frame's full-resolution detail (a one-level change of the mask moved such a pixel by 25 levels).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .box_blend import blend_in_box
from .foreground import NARROW_BOX_FRACTION, estimate_foreground
from .reduced import cells_under, grow_cells, reduced_size, shrink, shrink_alpha
from .scratch import Scratch

#: the long side of the grid the estimate runs on (the frame's own size when smaller): 640 cost 5-6 ms a
#: 720p frame, 320 about 1 ms (dev portraits, replace: PSNR ~42 dB between the two)
WORK_LONG_SIDE = 320


class EdgeColour:
    """frame, mask -> the frame with decontaminated soft-edge colours (a reused buffer: copy to keep).

    Its parts, for looks that fold more into the same blend (replace adds its light wrap): ``size`` (the
    grid, cv2 (width, height)), ``estimate`` (on the grid), ``weight`` (the estimate's share per pixel) and
    ``apply`` (any small image blended into the frame by any weight)."""

    def __init__(self, height: int, width: int, work_long_side: int = WORK_LONG_SIDE,
                 scratch: Scratch | None = None):
        self.height, self.width = height, width
        self.size = reduced_size(height, width, work_long_side)
        self._scratch = scratch if scratch is not None else Scratch()
        #: the last call's estimate and box, kept (``keep``) for a still scene's next frames with the same
        #: mask (``reuse``); its weight stays in the scratch buffer only __call__ writes
        self._kept: tuple[np.ndarray, tuple[int, int, int, int] | None, bool] | None = None

    @staticmethod
    def estimate(small_frame: np.ndarray, small_mask: np.ndarray) -> np.ndarray:
        """The person's colour on the small grid (uint8 BGR, a new array)."""
        return estimate_foreground(small_frame, small_mask)

    def weight(self, alpha: np.ndarray, name: str = "edge.weight", out: np.ndarray | None = None) -> np.ndarray:
        """uint8 share of the estimate for ``alpha`` (uint8, any size): 255 for alpha 1..127, falling to 0 at
        255, and 0 at alpha 0 (nobody there: the frame stays as it is). Into ``out``, else a scratch buffer."""
        if out is None:
            out = self._scratch.get(name, alpha.shape)
        weight = cv2.convertScaleAbs(alpha, alpha=-2.0, beta=510.0, dst=out)
        # alpha 0 -> 510 saturates to 255; a 0..1 step at the bottom: x - (x == 0) * 255
        return cv2.subtract(weight, cv2.compare(alpha, 0, cv2.CMP_EQ), dst=weight)

    def apply(self, frame: np.ndarray, top_small: np.ndarray, weight: np.ndarray,
              out: np.ndarray | None = None, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """``frame`` with ``top_small`` (the small grid, same channels) brought up and blended in by ``weight``
        (uint8 HxW at the frame's size), inside weight's box (or ``box``: x, y, w, h); elsewhere the frame.
        Into ``out`` (or a reused buffer); the frame is not modified."""
        if out is None:
            out = self._scratch.get("edge.out", frame.shape)
        x, y, w, h = cv2.boundingRect(weight) if box is None else box
        if w == 0 or h == 0:
            np.copyto(out, frame)
            return out
        # the weight's box in whole cells of the small grid
        cells = cells_under(top_small.shape, self.height, self.width, (y, y + h, x, x + w))
        (top, bottom, left, right), _ = grow_cells(top_small, self.height, self.width, cells,
                                                   self._scratch.get("edge.up", frame.shape))
        # blended inside the weight's box only (the grown cells reach past it, where the weight is 0)
        box = (max(top, y), min(bottom, y + h), max(left, x), min(right, x + w))
        return blend_in_box(self._scratch.get("edge.up", frame.shape), frame, weight, out, self._scratch,
                            box=box, name="edge.box")

    def grey_estimate(self, estimate: np.ndarray) -> np.ndarray:
        """The estimate's luma (as COLOR_BGR2GRAY), for monochrome looks."""
        return cv2.cvtColor(estimate, cv2.COLOR_BGR2GRAY)

    def __call__(self, frame: np.ndarray, mask: np.ndarray, alpha: np.ndarray, *, rim: bool = False,
                 keep: bool = False, reuse: bool = False) -> np.ndarray:
        """``alpha``: ``mask`` as uint8 (the caller has it already for its own blend). ``rim``: also give the
        person's colour to the pixels just outside the person (alpha 0, within the estimate's narrow box of
        the edge), as foreground.py's estimate does: for transparent output, where a video encoder's chroma
        subsampling or a compositor's resampling reaches a pixel or two beyond the alpha.
        ``keep`` (a still scene): keep the estimate and its weight; ``reuse`` (the same mask as the last
        call's): blend the kept ones into this frame instead of estimating again from its noise."""
        estimate, weight, box = self.parts(frame, mask, alpha, rim=rim, keep=keep, reuse=reuse)
        return self.apply(frame, estimate, weight, box=box)

    def parts(self, frame: np.ndarray, mask: np.ndarray, alpha: np.ndarray, *, rim: bool = False,
              keep: bool = False, reuse: bool = False) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
        """What __call__ blends, for a caller that blends it itself: the estimate on the small grid, the
        weight (frame-sized, valid inside the box only) and the box (x, y, w, h; w or h 0: nothing to
        blend). (The cut-out's compiled pass works the weight out itself: rim_estimate.)"""
        kept = self._kept if reuse else None
        self._kept = None
        if kept is not None and kept[2] == rim:
            self._kept = kept
            estimate, box, _ = kept
            return estimate, self._scratch.get("edge.weight", alpha.shape), box
        estimate = self.estimate(shrink(frame, self.size), shrink_alpha(alpha, self.size))
        # the weight is worked out inside the person's box (and the rim's reach round it) only: it is 0 where
        # alpha is, and the blend reads it inside its own box only (the buffer is stale elsewhere)
        pad = math.ceil(NARROW_BOX_FRACTION * self.height) if rim else 0
        ax, ay, aw, ah = cv2.boundingRect(alpha)
        top, left = max(0, ay - pad), max(0, ax - pad)
        bottom, right = min(self.height, ay + ah + pad), min(self.width, ax + aw + pad)
        weight = self._scratch.get("edge.weight", alpha.shape)
        region = (slice(top, bottom), slice(left, right))
        x, y, w, h = cv2.boundingRect(self.weight(alpha[region], out=weight[region])) if aw and ah else (0, 0, 0, 0)
        x, y = x + left, y + top
        if rim and w and h:
            # alpha 0: the estimate's colour, in the weight's box and its reach (all inside the region)
            cv2.add(weight[region], cv2.compare(alpha[region], 0, cv2.CMP_EQ), dst=weight[region])
            x0, y0 = max(0, x - pad), max(0, y - pad)
            box = (x0, y0, min(self.width, x + w + pad) - x0, min(self.height, y + h + pad) - y0)
        else:
            box = (x, y, w, h)
        if keep:
            self._kept = (estimate, box, rim)   # the estimate is a new array: no copy needed
        return estimate, weight, box

    def rim_estimate(self, frame: np.ndarray, alpha: np.ndarray, soft_box: tuple[int, int, int, int] | None, *,
                     keep: bool = False, reuse: bool = False) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """parts(rim=True) for a pass that works the weight out from alpha itself (plates_pass.c's bgra): the
        estimate and the box (x, y, w, h) the weight is blended in, from ``soft_box`` (top, bottom, left,
        right of alpha's pixels neither 0 nor 255, None: none) as parts makes it; kept and reused alike."""
        kept = self._kept if reuse else None
        self._kept = None
        if kept is not None and kept[2]:
            self._kept = kept
            return kept[0], kept[1]
        estimate = self.estimate(shrink(frame, self.size), shrink_alpha(alpha, self.size))
        box = (0, 0, 0, 0)
        if soft_box is not None:
            pad = math.ceil(NARROW_BOX_FRACTION * self.height)
            top, bottom, left, right = soft_box
            x0, y0 = max(0, left - pad), max(0, top - pad)
            box = (x0, y0, min(self.width, right + pad) - x0, min(self.height, bottom + pad) - y0)
        if keep:
            self._kept = (estimate, box, True)
        return estimate, box
