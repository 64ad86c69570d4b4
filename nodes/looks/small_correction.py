"""A signed colour correction made on the reduced grid and added to the full-size frame in one pass: how the
looks apply the smooth part of their work (edge colour, light wrap) without frame-size float maths.

Not for: deciding the correction (edge_colour.py, the looks) or blending layers (blend.py).
The correction is stored offset by 128 at half scale in uint8 (2 levels of resolution, +-255 of reach), so
bringing it up is one 3-channel uint8 resize and adding it one saturating ``addWeighted``, both over the
box where it is not zero only (a plain resize of the box's cells: warpAffine, exact to the pixel, cost 2.2 ms
against 0.33 at 720p).
"""
from __future__ import annotations

import cv2
import numpy as np

from .scratch import Scratch


class SmallCorrection:
    """``correct(frame, delta_small)`` -> frame + delta brought up bilinearly (a reused buffer: copy to keep).

    ``delta_small``: int16 HxWx3 on the reduced grid (full-size levels, any sign)."""

    def __init__(self, height: int, width: int, scratch: Scratch | None = None):
        self.height, self.width = height, width
        self._scratch = scratch if scratch is not None else Scratch()

    def correct(self, frame: np.ndarray, delta_small: np.ndarray | None, *,
                out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = self._scratch.get("correction.out", frame.shape)
        if out is not frame:
            np.copyto(out, frame)
        if delta_small is None:
            return out
        coded = self._scratch.get("correction.coded", delta_small.shape)
        # (delta + 256) / 2 rounds to the nearest even level: an odd delta moves by at most one level
        cv2.convertScaleAbs(delta_small, dst=coded, alpha=0.5, beta=128.0)
        # convertScaleAbs takes |x|, which only matters below 0: delta >= -256 never gets there
        changed = cv2.inRange(coded, (128, 128, 128), (128, 128, 128))
        x, y, w, h = cv2.boundingRect(cv2.bitwise_not(changed, dst=changed))
        if w == 0 or h == 0:
            return out
        # whole cells of the small grid (one of margin, where the correction is already 0): the crop's resize
        # then samples like the whole frame's would, within a fraction of a pixel
        x0, y0 = max(0, x - 1), max(0, y - 1)
        x1, y1 = min(coded.shape[1], x + w + 1), min(coded.shape[0], y + h + 1)
        sy, sx = self.height / coded.shape[0], self.width / coded.shape[1]
        top, left = round(y0 * sy), round(x0 * sx)
        bottom, right = min(self.height, round(y1 * sy)), min(self.width, round(x1 * sx))
        # a view of one frame-size buffer: the box changes every frame, the buffer never does
        up = self._scratch.get("correction.up", frame.shape)[:bottom - top, :right - left]
        cv2.resize(coded[y0:y1, x0:x1], (right - left, bottom - top), dst=up, interpolation=cv2.INTER_LINEAR)
        window = out[top:bottom, left:right]
        cv2.addWeighted(frame[top:bottom, left:right], 1.0, up, 2.0, -256.0, dst=window)
        return out
