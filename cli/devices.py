"""`portraitflow devices`: list the cameras this machine has, as --input accepts them.

Not for: opening cameras (devices/camera_source.py does, when a graph runs).
"""
from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("devices", help="list cameras usable as --input",
                              description="List the cameras FFmpeg can open here (v4l2 on Linux, "
                                          "avfoundation on macOS, dshow on Windows).")
    p.set_defaults(func=_devices)


def _devices(args: argparse.Namespace) -> int:
    # imported here: the camera code imports PyAV, which `portraitflow --help` should not pay for
    from ..devices.camera_source import NO_CAMERA_HINT, device_format, list_cameras

    cameras = list_cameras()
    if not cameras:
        print(f"no camera found ({device_format()}); {NO_CAMERA_HINT}", file=sys.stderr)
        return 0
    for index, camera in enumerate(cameras):
        flag = f"camera:{camera.device}" if camera.device.isdigit() else camera.device
        print(f"{flag:<16} {camera.name}" + ("   (default: --input camera)" if index == 0 else ""))
    return 0
