"""The person's own colour at soft edges for looks that move the person onto a new ground (replace,
poster, double exposure): foreground.py's blur-fusion estimate, run at a bounded working size.

Not for: the estimate itself (foreground.py, Forte & Pitie 2021) or transparency (cutout.py).
Why a working size: the estimate's per-pixel work grows with the edge band, 36-44 ms on a 720p frame
with the chain's mask against 7-8 ms at 640x360. The colour of an edge varies slowly along it (the
alpha carries the fine detail), so the estimate is made small, brought back up bilinearly and copied
into the frame only where the mask is soft; solid person and background keep the frame's own pixels.
Inside the soft band the estimate is faded in by softness (full where alpha <= 1/2, none at alpha 1):
a mostly-opaque pixel is mostly the person already, and a hard switch at the band's inner edge would
leave a seam between the small estimate and the frame's full-resolution detail (a one-level change of
the mask moved such a pixel by 25 levels).
"""
from __future__ import annotations

import cv2
import numpy as np

from .foreground import estimate_foreground
from .reduced import grow, reduced_size, shrink
from .scratch import Scratch

#: the long side of the grid the estimate runs on (the frame's own size when smaller)
WORK_LONG_SIDE = 640
#: alpha levels (of 255) that count as solid: the estimate is used strictly between them
_SOFT_LOW, _SOFT_HIGH = 1, 254


class EdgeColour:
    """frame, mask -> the frame with decontaminated soft-edge colours (a reused buffer: copy to keep)."""

    def __init__(self, height: int, width: int, work_long_side: int = WORK_LONG_SIDE,
                 scratch: Scratch | None = None):
        self._small = reduced_size(height, width, work_long_side)
        self._scratch = scratch or Scratch()

    def __call__(self, frame: np.ndarray, mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """``alpha`` is ``mask`` as uint8 (the caller has it already for its blend)."""
        height, width = frame.shape[:2]
        soft = cv2.inRange(alpha, _SOFT_LOW, _SOFT_HIGH, dst=self._scratch.get("edge.soft", alpha.shape))
        out = self._scratch.get("edge.out", frame.shape)
        np.copyto(out, frame)
        if not cv2.countNonZero(soft):
            return out
        small = estimate_foreground(shrink(frame, self._small), shrink(mask, self._small))
        x, y, w, h = cv2.boundingRect(soft)      # the band's box: the fade costs nothing elsewhere
        box = (slice(y, y + h), slice(x, x + w))
        estimate = grow(small, height, width)[box]
        # weight of the estimate: 1 for alpha <= 127, falling to 0 at alpha 255
        weight = cv2.convertScaleAbs(alpha[box], alpha=-2.0, beta=510.0)
        weight = weight.astype(np.float32) * np.float32(1 / 255)
        faded = cv2.blendLinear(estimate, frame[box], weight, 1.0 - weight)
        cv2.copyTo(faded, soft[box], out[box])
        return out
