"""The OS scheduling of node threads: Linux's SCHED_BATCH, so a thread a packet wakes does not preempt the
thread that handed it over.

Not for: priorities, core affinity, or OpenCV's and onnxruntime's own pools (graph/opencv_threads.py).
Why: every handoff between node threads wakes the consumer while the producer still holds the GIL (and the
queue's lock); under the default policy the kernel often switches to the woken thread at once, which can
only block again on the GIL and switch back: two context switches and cold caches for nothing. A batch
thread is never run by preempting a running one on wakeup; it runs when a core is free or the running
thread waits (a node thread waits at least once a frame). Measured with bench/runner.py (shared, loaded
2-core machine), blur recipe, 720p: one core, voluntary/involuntary switches a frame 16/13 -> 8/3 and the
runner's CPU cost over the nodes called in sequence +1.8..+2.3 -> +0.1..+0.7 ms a frame; live 30 fps on
two cores 17/8 -> 14/2 switches, +2.2 -> +1.3 ms. Threads a node starts (decoders, servers) inherit it;
a batch thread still gets its fair share of the CPU, as nice 0. Does nothing where the OS has no
SCHED_BATCH or refuses it.
"""
from __future__ import annotations

import os
import threading


def run_current_thread_as_batch() -> bool:
    """Put the calling thread (only it) under SCHED_BATCH. True when it is."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        # on Linux a thread id names the thread alone (pid 0 would too, but says less)
        os.sched_setscheduler(threading.get_native_id(), policy, os.sched_param(0))
    except OSError:      # a sandbox that forbids it: the default policy works, only with more switches
        return False
    return True
