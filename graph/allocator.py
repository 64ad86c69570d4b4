"""The C allocator (glibc malloc) set once per process for frame-size buffers handed between node threads.

Not for: pooling or reusing arrays (a packet's payload is its receivers' to keep) or OpenCV's or
onnxruntime's own threads (graph/opencv_threads.py, the segment node). Does nothing off glibc.
Why: numpy and OpenCV take every frame, mask and temporary from malloc. glibc starts by mmap'ing blocks
over 128 KB and raises that threshold, and trims its heaps, only as blocks come back; with a thread per
node, an arena per thread and several frames in flight, that takes the first 50-150 frames of a run, each
touching fresh pages. bench/runner.py, blur recipe, 720p, a whole run of 150 frames on one core: 63-114
minor faults and 0.35-0.7 ms of system time a frame through the runner (~5-50 faults in sequence), ~0.2
faults and 0.1-0.2 ms with these settings (steady state, once glibc has settled, is near zero either way:
what this saves is a run's first seconds, and every short run: a clip, a bench). Set here: one arena for
the whole process (a block freed by another thread goes back where it is reused), blocks up to 32 MB
(glibc's own ceiling for its dynamic threshold; a 4K BGR frame is 25 MB) from the heap, and up to 64 MB
(twice that, glibc's own ratio) of free heap kept rather than trimmed. The cost: the process keeps up to
64 MB of freed memory for its next frames instead of returning it.
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
