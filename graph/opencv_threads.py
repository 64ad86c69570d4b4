"""OpenCV's own thread pool while a graph runs: one thread per node thread when the node threads already
fill the cores, the process's previous setting back when the last such graph ends.

Not for: onnxruntime's threads (the segment node's ``threads`` option) or the node threads themselves.
Why: every node runs on its own thread, and each OpenCV call from one of them also spreads over OpenCV's
pool, so on two cores five node threads compete with the pool's (which spin briefly before sleeping).
Measured with bench/chain.py (blur, 720p, live 30 fps, 2 cores, a shared loaded machine): 16.3 -> 13.5
CPU-ms a frame, latency p50 59 -> 32 ms, p99 228 -> 170 ms; 1080p 39.0 -> 28.1 CPU-ms a frame.
"""
from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_active = 0                    # graphs running with OpenCV held at one thread
_previous: int | None = None   # the process's setting before the first of them


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:     # not Linux
        return os.cpu_count() or 1


def hold_single_threaded(node_threads: int) -> bool:
    """Called as a graph starts: one OpenCV thread if ``node_threads`` >= the usable cores (and OpenCV is
    installed). True when held: the caller then calls ``release()`` once when its graph has ended."""
    global _active, _previous
    if node_threads < usable_cores():
        return False
    try:
        import cv2
    except ImportError:
        return False
    with _lock:
        if _active == 0:
            _previous = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _active += 1
    return True


def release() -> None:
    """The graph that held OpenCV at one thread has ended; the last one restores the previous setting."""
    global _active, _previous
    import cv2
    with _lock:
        _active -= 1
        if _active == 0 and _previous is not None:
            cv2.setNumThreads(_previous)
            _previous = None
