"""The C allocator (glibc malloc) set once per process for frame-size buffers handed between node threads.

Not for: pooling or reusing arrays (a packet's payload is its receivers' to keep) or OpenCV's or
onnxruntime's own threads (graph/opencv_threads.py, the segment node). Does nothing off glibc.
Why: numpy and OpenCV take every frame, mask and temporary from malloc. On one thread glibc's dynamic
mmap threshold soon puts frame-size blocks on the heap and reuses them; with a thread per node and
several frames in flight, blocks of a few MB are mmap'd and unmapped, and each thread's own arena grows
and trims, so every frame touches fresh pages: bench/runner.py, blur recipe, 720p, one core, 135-300
minor faults and 0.5-1 ms of system time a frame in the graph against ~5 faults in sequence. Set here:
one arena for the whole process (a block freed by another thread goes back where it is reused), blocks
up to 32 MB (glibc's own ceiling for its dynamic threshold; a 4K BGR frame is 25 MB) from the heap, and
up to 64 MB (twice that, glibc's own ratio) of free heap kept rather than trimmed: ~5 faults a frame.
The cost: the process keeps up to 64 MB of freed memory for its next frames instead of returning it.
A user's own MALLOC_* or GLIBC_TUNABLES settings win: nothing is changed when any is set.
"""
from __future__ import annotations

import ctypes
import os
import platform
import threading

#: mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 2 * MMAP_THRESHOLD_BYTES
ARENAS = 1

#: a user who tuned malloc through the environment keeps exactly that
USER_SETTINGS = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                 "GLIBC_TUNABLES")

_lock = threading.Lock()
_done: bool | None = None     # None: not tried yet; then whether the settings were applied


def tune_for_frames() -> bool:
    """Apply the settings once per process (before node threads start, so they take the one arena).
    True when they are in effect."""
    global _done
    with _lock:
        if _done is None:
            _done = _apply()
        return _done


def _apply() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; the arena limit first: it only binds threads that start later
    return all(mallopt(param, value) == 1 for param, value in (
        (M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)))
