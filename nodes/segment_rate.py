"""When the segment node runs its models: every frame while the scene moves, less often while it is still,
and less often again when the process is over its CPU budget. The output frame rate never changes: a
frame that is not segmented gets the last mask, marked ``carried`` (the smooth node moves it with its
optical flow onto the new frame).

Not for: running the models (nodes/segment.py) or moving the carried mask (nodes/smooth.py).

Stillness: a 64 px wide grey thumbnail of each frame (one bilinear resize, ~0.05 ms at 720p) against the
thumbnail of the last *segmented* frame; the scene counts as still while fewer than ``STILL_AREA`` of the
thumbnail's pixels changed by more than ``still_threshold`` grey levels, so a hand moving in front of the
body counts (a mean over the frame diluted it: on the dev clips a mean of 1.5 levels carried masks over
moving hands, worst frame MAD 16) and slow drift adds up until it triggers a fresh mask.
Budget: CPU % of one core = process CPU time over media time (the frames' own timestamps, so an offline
file is judged at the rate it would play live), measured over windows of ``BUDGET_WINDOW`` frames;
over budget the segmentation interval grows by one frame (up to ``max_interval``), well under it
(below ``RELAX`` of the budget) it shrinks again.
"""
from __future__ import annotations

import time

import cv2
import numpy as np

#: frames per budget measurement window
BUDGET_WINDOW = 10
#: below this fraction of the budget the interval shrinks again (hysteresis: no flapping at the edge)
RELAX = 0.8
THUMB_WIDTH = 64
#: share of thumbnail pixels that may change (by more than still_threshold) in a still scene
STILL_AREA = 0.004


class SegmentationRate:
    """Decides per frame whether to segment; counts why it did not. One per segment node.

    still_every: while still, segment at most every Nth frame (1 = every frame, adaptive off).
    cpu_budget_percent: 0 = no budget; else the process's CPU % of one core to stay under.
    max_interval: the longest gap between two segmented frames, whatever the budget or stillness.
    """

    def __init__(self, still_every: int = 1, still_threshold: float = 6.0, cpu_budget_percent: float = 0.0,
                 max_interval: int = 8, process_time=time.process_time):
        self.still_every = still_every
        self.still_threshold = still_threshold
        self.cpu_budget_percent = cpu_budget_percent
        self.max_interval = max(1, max_interval)
        self._process_time = process_time
        self.budget_interval = 1        # current interval the budget asks for
        self._since_segment = 0         # frames since the last segmented frame
        self._reference: np.ndarray | None = None    # thumbnail of the last segmented frame
        self._window: tuple[float, float] | None = None   # (cpu s, media s) at the window's start
        self._window_frames = 0
        self.still = False              # whether the last frame decided counted as still

    def _thumbnail(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        size = (THUMB_WIDTH, max(2, round(THUMB_WIDTH * h / w)))
        code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        # INTER_AREA on a frame 20x the size would cost ms; bilinear samples, the blur takes out its noise
        small = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(cv2.cvtColor(small, code), (3, 3), 0)

    def _update_budget(self, media_s: float) -> None:
        if self.cpu_budget_percent <= 0:
            return
        cpu = self._process_time()
        if self._window is None:
            self._window = (cpu, media_s)
            self._window_frames = 0
            return
        self._window_frames += 1
        if self._window_frames < BUDGET_WINDOW:
            return
        cpu0, media0 = self._window
        self._window = (cpu, media_s)
        self._window_frames = 0
        if media_s <= media0:
            return
        percent = 100.0 * (cpu - cpu0) / (media_s - media0)
        if percent > self.cpu_budget_percent:
            self.budget_interval = min(self.max_interval, self.budget_interval + 1)
        elif percent < RELAX * self.cpu_budget_percent:
            self.budget_interval = max(1, self.budget_interval - 1)

    def _changed_share(self, thumb: np.ndarray) -> float:
        changed = cv2.absdiff(thumb, self._reference) > self.still_threshold
        return float(np.count_nonzero(changed)) / changed.size

    def decide(self, frame: np.ndarray, media_s: float, have_mask: bool) -> str | None:
        """None: segment this frame. Else the reason it is skipped: "still" or "budget"."""
        self._update_budget(media_s)
        adaptive = self.still_every > 1
        thumb = self._thumbnail(frame) if adaptive else None
        reason = None
        self.still = adaptive and self._reference is not None and self._reference.shape == thumb.shape \
            and self._changed_share(thumb) <= STILL_AREA
        if have_mask and self._since_segment + 1 < self.max_interval:
            if self._since_segment + 1 < self.budget_interval:
                reason = "budget"
            elif self.still and self._since_segment + 1 < self.still_every:
                reason = "still"
        if reason is None:
            self._since_segment = 0
            self._reference = thumb
        else:
            self._since_segment += 1
        return reason
