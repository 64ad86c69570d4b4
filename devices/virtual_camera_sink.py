"""Show the output as a webcam that video calls and OBS can pick, via pyvirtualcam (`portraitflow[vcam]`).

Not for: network streams (stream_sink.py) or files (video_sink.py). Backends: v4l2loopback on Linux,
OBS Virtual Camera on Windows and macOS; a missing backend is a DeviceError that says what to install.
in: frame (Frame, BGR or BGRA: alpha is dropped with one warning, see --key-colour)
options: width, height (0: the first frame's), fps, device, backend
example: {type = "virtual_camera_sink", options = {fps = 30.0}}
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import cv2

from ..graph import DeviceError, Frame, Node
from ..graph.options import Above, check_ranges
from .alpha_drop import AlphaDropWarning
from .letterbox import letterbox

INSTALL_EXTRA = "pip install 'portraitflow[vcam]'"


def backend_install_hint(platform: str = sys.platform) -> str:
    """What a user on ``platform`` installs so a virtual camera backend exists."""
    if platform.startswith("linux"):
        return ("install and load v4l2loopback: `sudo apt install v4l2loopback-dkms` then "
                "`sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=portraitflow`")
    if platform in ("win32", "cygwin", "darwin"):
        return ("install OBS Studio (28 or newer) and start its Virtual Camera once "
                "(Tools > Start Virtual Camera) so the camera is registered")
    return f"no virtual camera backend is known for platform {platform!r} (pyvirtualcam supports Linux, " \
           "Windows and macOS)"


class VirtualCameraSink(Node):
    """Sends each frame to the virtual camera, then sleeps until the camera's next frame is due, so
    a file played as fast as it decodes still reaches the camera at ``fps``. Frames of another size
    than the camera's are letterboxed into it, aspect kept, and counted "frames_letterboxed" (a
    camera cannot change size while apps are watching it).
    """

    inputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        width: int = 0          # 0: the first frame's width
        height: int = 0
        fps: float = 30.0
        device: str = ""        # e.g. /dev/video10; "": the backend's first free device
        backend: str = ""       # "v4l2loopback", "obs", "unitycapture"; "": the platform's default

        def __post_init__(self):
            if self.width < 0 or self.height < 0 or (self.width == 0) != (self.height == 0):
                raise ValueError(f"width and height must both be 0 (first frame's size) or both positive, "
                                 f"got {self.width}x{self.height}")
            check_ranges(self, fps=(Above(0), 120))

    def open(self, ctx) -> None:
        try:
            import pyvirtualcam
        except ImportError as exc:
            raise DeviceError(f"virtual camera: the pyvirtualcam package is missing: {INSTALL_EXTRA}, "
                              f"then {backend_install_hint()}") from exc
        self._pyvirtualcam = pyvirtualcam
        self._camera = None
        self._alpha_drop = AlphaDropWarning(f"{self.id} (virtual camera)")

    def process(self, ctx) -> None:
        image = ctx.inputs["frame"].payload
        if self._camera is None:
            self._camera = self._open_camera(self.options.width or image.shape[1],
                                             self.options.height or image.shape[0])
        camera = self._camera
        if image.shape[2] == 4:
            self._alpha_drop.check(ctx, image)
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if (image.shape[1], image.shape[0]) != (camera.width, camera.height):
            image = letterbox(image, camera.width, camera.height)    # aspect kept, black bars
            ctx.count("frames_letterboxed")
        camera.send(image)
        camera.sleep_until_next_frame()

    def close(self, ctx) -> None:
        camera, self._camera = getattr(self, "_camera", None), None
        if camera is not None:
            camera.close()

    def _open_camera(self, width: int, height: int):
        options = self.options
        try:
            return self._pyvirtualcam.Camera(width, height, options.fps,
                                             fmt=self._pyvirtualcam.PixelFormat.BGR,
                                             device=options.device or None, backend=options.backend or None)
        except RuntimeError as exc:   # pyvirtualcam's way of saying "no backend / no device"
            raise DeviceError(f"virtual camera: no usable backend ({exc}); {backend_install_hint()}") from exc
