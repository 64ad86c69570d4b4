"""The person's own colour at soft edges for looks that move the person onto a new ground (replace,
poster, double exposure, the cut-out): foreground.py's blur-fusion estimate, run on a small grid and
brought back as a correction of the frame.

Not for: the estimate itself (foreground.py, Forte & Pitie 2021) or transparency (cutout.py).
Why a small grid: the estimate's per-pixel work grows with the edge band (10-15% of a webcam frame's
pixels with the chain's mask): 36-44 ms on a 720p frame, 6-8 ms at 640x360, 1.3-1.7 ms at 320x180. The
colour of an edge varies slowly along it (the alpha carries the fine detail), so the estimate is made
small and only the *correction* F - I is brought up (small_correction.py) and added to the full-size
frame: the frame keeps its own fine detail everywhere, the edge loses the old background's colour.
The correction is faded in by softness (full where alpha <= 1/2, none at alpha 1): a mostly-opaque pixel
is mostly the person already, and a hard switch at the band's inner edge would leave a seam.
"""
from __future__ import annotations

import cv2
import numpy as np

from .blend import mask_to_alpha
from .foreground import estimate_foreground
from .reduced import reduced_size, shrink
from .scratch import Scratch
from .small_correction import SmallCorrection

#: the long side of the grid the estimate runs on (the frame's own size when smaller). 640 cost 6-8 ms a
#: frame; at 320 the dev portraits' replace composites differ from it by PSNR ~45 dB
WORK_LONG_SIDE = 320


class EdgeColour:
    """frame, mask -> the frame with decontaminated soft-edge colours (a reused buffer: copy to keep).

    The parts, for looks that fold the correction into their own small-grid work: ``size`` (the grid, cv2
    (width, height)), ``delta(small_frame, small_mask)`` (the correction on it) and ``apply``."""

    def __init__(self, height: int, width: int, work_long_side: int = WORK_LONG_SIDE,
                 scratch: Scratch | None = None):
        self.size = reduced_size(height, width, work_long_side)
        self._scratch = scratch if scratch is not None else Scratch()
        self._correction = SmallCorrection(height, width, scratch=self._scratch)

    def delta(self, small_frame: np.ndarray, small_mask: np.ndarray) -> np.ndarray | None:
        """int16 HxWx3 on the small grid: (estimate - frame), faded by softness; None without a soft edge."""
        estimate = estimate_foreground(small_frame, small_mask)
        delta = cv2.subtract(estimate, small_frame, dtype=cv2.CV_16S)
        alpha = mask_to_alpha(small_mask)
        # weight of the estimate: 1 for alpha <= 127, falling to 0 at alpha 255
        weight = cv2.convertScaleAbs(alpha, alpha=-2.0, beta=510.0)
        weight3 = cv2.merge((weight, weight, weight))
        return cv2.multiply(delta, weight3, scale=1.0 / 255.0, dtype=cv2.CV_16S)

    def apply(self, frame: np.ndarray, delta: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
        """``frame`` + ``delta`` brought up (into ``out`` or a reused buffer)."""
        return self._correction.correct(frame, delta, out=out)

    def __call__(self, frame: np.ndarray, mask: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        """``alpha``: ``mask`` as uint8 when the caller has it (solid person pixels, 255, stay the frame's)."""
        small_frame, small_mask = shrink(frame, self.size), shrink(mask, self.size)
        out = self.apply(frame, self.delta(small_frame, small_mask))
        if alpha is not None:
            cv2.copyTo(frame, cv2.compare(alpha, 254, cv2.CMP_GT), out)
        return out
