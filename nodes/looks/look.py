"""What every look is: typed settings, a prepare step per frame size, and draw(frame, mask).

Not for: a particular design (one file per look) or graph plumbing (nodes/composite.py).
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class Look:
    """A designed composite of a frame and its person mask.

    ``render(frame, mask)`` returns a new uint8 image (the frame is never modified). ``mask`` is
    float32 HxW in [0, 1] at the frame's size, or None when there is no usable mask: a look must
    then draw as if nobody were there (fully blurred, fully replaced...), which is how the composite
    node fails closed.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Settings: ClassVar[type]
    #: settings that may name a video file instead of an image (replace's background, the double
    #: exposure's fill): recipes/loader.py then adds a background_video node feeding the composite
    video_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Any):
        self.settings = settings
        self._shape: tuple[int, int] | None = None
        #: the video setting's current frame (uint8 BGR at the frame's size), set by the composite before
        #: render() from its background input; None until the first one arrives (the look then draws a
        #: plain dark plate, never the camera's own background)
        self.video_background: np.ndarray | None = None
        #: set by the composite before render(): ``scene_still`` when the scene is still (a look may keep
        #: what it makes from the frame's surroundings), ``same_mask`` when this frame's mask is also the
        #: last frame's edge again (the fringe reused it): the look may then reuse what it kept (a blurred
        #: background) instead of making it again from sensor noise
        self.scene_still = False
        self.same_mask = False

    @property
    def channels(self) -> int:
        """3 for BGR output, 4 for BGRA."""
        return 3

    def render(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        height, width = frame.shape[:2]
        if self._shape != (height, width):
            self.prepare(height, width)
            self._shape = (height, width)
        return self.draw(frame, mask)

    def prepare(self, height: int, width: int) -> None:
        """Build what depends only on the frame size and settings (plates, maps, type)."""

    def draw(self, frame: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError
