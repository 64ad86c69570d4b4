"""Fit a frame into a fixed output size without distorting it: scale with the aspect kept, pad with black.

Not for: choosing the output size (the sinks keep their first frame's size; resolution options are
the CLI's). An encoder, a stream or a virtual camera cannot change size mid-run, so a frame of another
size is letterboxed (bars top and bottom) or pillarboxed (bars at the sides) into it.
"""
from __future__ import annotations

import cv2
import numpy as np


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` (HxWxC uint8) scaled to fit ``width`` x ``height``, centred on black; a new array."""
    src_h, src_w = image.shape[:2]
    scale = min(width / src_w, height / src_h)
    fit_w, fit_h = max(1, min(width, round(src_w * scale))), max(1, min(height, round(src_h * scale)))
    # INTER_AREA when shrinking (no aliasing), INTER_LINEAR when growing (AREA is slow and soft there)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    fitted = cv2.resize(image, (fit_w, fit_h), interpolation=interpolation)
    top, left = (height - fit_h) // 2, (width - fit_w) // 2
    return cv2.copyMakeBorder(fitted, top, height - fit_h - top, left, width - fit_w - left,
                              cv2.BORDER_CONSTANT, value=(0,) * image.shape[2])
