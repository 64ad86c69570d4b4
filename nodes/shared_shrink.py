"""One small copy of a frame, made once for every stage that needs the same one: the segment node's gate
model and the smooth node's optical flow both shrink the working frame to the model's size (a bilinear
step to twice the size, then an exact 2x area average), on their own threads, from the same frame array.

Not for: frames that go downstream (the copy is read-only and shared) or any other resize. The cache is
keyed by the frame array itself (a weak reference, so a freed frame's id reused by a new array never
hits) and by the size; it holds the last few entries only. Measured at 720p: 0.5 ms a frame saved.
The two resizes are one compiled pass where it is built (nodes/shrink_pass.c: the same pixels, bit for bit,
and the twice-size image never made); cv2.resize where it is not, or where the bilinear step does not apply.
"""
from __future__ import annotations

import threading
import weakref

import cv2
import numpy as np

from .frame_passes import compiled

_ENTRIES = 8
_lock = threading.Lock()
_cache: dict[tuple[int, tuple[int, int]], tuple[weakref.ref, np.ndarray]] = {}


def shrink_twice_then_area(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` at ``size`` (w, h): bilinear to 2x the size when the frame is larger than that, then an
    exact 2x area average (a direct bilinear shrink of a 720p frame aliases sensor noise; a general
    INTER_AREA from 720p costs ms). Read-only: the same array goes to every caller for this frame."""
    key = (id(frame), size)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is frame:
            return hit[1]
    w, h = size
    twice = frame.shape[0] > 2 * h and frame.shape[1] > 2 * w
    if twice and compiled is not None and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] in (3, 4):
        small = np.empty((h, w, frame.shape[2]), np.uint8)
        compiled.shrink_twice_then_area(frame, small)
    else:
        source = cv2.resize(frame, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR) if twice else frame
        small = cv2.resize(source, (w, h), interpolation=cv2.INTER_AREA)
    small.flags.writeable = False
    with _lock:
        if len(_cache) >= _ENTRIES:
            for old in [k for k, (ref, _) in _cache.items() if ref() is None] or [next(iter(_cache))]:
                _cache.pop(old, None)
        _cache[key] = (weakref.ref(frame), small)
    return small
