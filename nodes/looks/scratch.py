"""Reusable working buffers for a look, so a frame's intermediate images are not allocated afresh.

Not for: output frames (those go downstream and must be new arrays). Measured at 720p: a blend
writing its three intermediates into fresh arrays took 5.0 ms, into reused buffers 0.7 ms (fresh
multi-megabyte arrays are new pages from the kernel every time).
"""
from __future__ import annotations

import numpy as np


class Scratch:
    """Named buffers, reallocated only when the requested shape or dtype changes."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type = np.uint8) -> np.ndarray:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != tuple(shape) or buffer.dtype != dtype:
            buffer = np.empty(shape, dtype)
            self._buffers[name] = buffer
        return buffer
