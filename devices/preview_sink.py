"""Show frames in an OpenCV window; pressing q or Esc, or closing the window, ends the run cleanly.

Not for: headless machines (it says so and fails) or recording (video_sink.py).
in: frame (Frame, BGR or BGRA)   options: title="portraitflow"
example: `portraitflow run --input camera --output preview`
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import cv2

from ..graph import DeviceError, Frame, Node

QUIT_KEYS = {ord("q"), ord("Q"), 27}


def display_available() -> bool:
    """Whether a window can be opened. On Linux without DISPLAY or WAYLAND_DISPLAY, OpenCV's Qt
    backend would abort the whole process instead of raising, so we must ask before trying."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class PreviewSink(Node):
    """One window, refreshed per frame (imshow + waitKey(1), about 1 ms). A quit key or a closed
    window sets ``ctx.stop_requested``: the runner stops the sources and lets the graph drain."""

    inputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        title: str = "portraitflow"

    def open(self, ctx) -> None:
        if not display_available():
            raise DeviceError("preview: no display available (DISPLAY and WAYLAND_DISPLAY are not set); "
                              "use --output FILE.mp4 or --output null")
        try:
            cv2.namedWindow(self.options.title, cv2.WINDOW_AUTOSIZE)
        except cv2.error as exc:
            raise DeviceError(f"preview: cannot open a window (OpenCV without GUI support?): {exc}") from exc
        self._opened = True

    def process(self, ctx) -> None:
        cv2.imshow(self.options.title, ctx.inputs["frame"].payload)
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(self.options.title, cv2.WND_PROP_VISIBLE) < 1
        if key in QUIT_KEYS or closed:
            ctx.stop_requested = True

    def close(self, ctx) -> None:
        if getattr(self, "_opened", False):
            cv2.destroyWindow(self.options.title)
            cv2.waitKey(1)   # lets the GUI loop actually remove the window
