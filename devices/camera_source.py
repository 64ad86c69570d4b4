"""A camera as a live source via PyAV device inputs: v4l2 (Linux), avfoundation (macOS), dshow (Windows).

Not for: files (video_source.py); phones and network streams (a transport node). Lists cameras too.
out: frame (Frame, BGR, the size the camera grants)   options: device="0", width=1280, height=720, fps=30.0
example: `portraitflow run --input camera:0 --output preview`
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging

from ..graph import DeviceError, Frame, Node
from ..graph.media_time import NANOSECONDS, media_meta
from ..graph.options import Above, check_ranges
from .pacing import SourceClock

NO_CAMERA_HINT = "use --input sample or a video file"


@dataclass(frozen=True)
class CameraInfo:
    """One camera: ``device`` is what the ``device`` option takes, ``name`` what the driver calls it."""

    device: str
    name: str


def device_format() -> str:
    """FFmpeg's input format for cameras on this platform."""
    if sys.platform.startswith("linux"):
        return "v4l2"
    if sys.platform == "darwin":
        return "avfoundation"
    if sys.platform == "win32":
        return "dshow"
    raise DeviceError(f"cameras are not supported on {sys.platform} (supported: Linux, macOS, Windows); "
                      f"{NO_CAMERA_HINT}")


def list_cameras(dev_dir: str = "/dev", sysfs_dir: str = "/sys/class/video4linux") -> list[CameraInfo]:
    """The cameras this machine has. Linux: the /dev/video* nodes (named from sysfs; a webcam often
    shows two nodes, the second for metadata). Elsewhere: best effort, from FFmpeg's device list."""
    if sys.platform.startswith("linux"):
        cameras = []
        nodes = [p for p in Path(dev_dir).glob("video*") if re.fullmatch(r"video\d+", p.name)]
        for node in sorted(nodes, key=lambda p: int(p.name[5:])):
            name_file = Path(sysfs_dir) / node.name / "name"
            try:
                name = name_file.read_text().strip()
            except OSError:
                name = "unknown"
            cameras.append(CameraInfo(str(node), name))
        return cameras
    return _ffmpeg_device_list(device_format())


def _ffmpeg_device_list(fmt: str) -> list[CameraInfo]:
    """FFmpeg prints its device list to the log when asked with list_devices=true, then fails to
    open: capture the log and read the video devices out of it."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs:
            try:
                av.open("video=dummy" if fmt == "dshow" else "", format=fmt,
                        options={"list_devices": "true"}).close()
            except (av.FFmpegError, OSError, ValueError):
                pass
    finally:
        av.logging.set_level(previous)
    cameras: list[CameraInfo] = []
    in_video = fmt == "dshow"
    for _level, _name, message in logs:
        line = message.strip()
        if fmt == "avfoundation":
            if "video devices" in line:
                in_video = True
            elif "audio devices" in line:
                in_video = False
            elif in_video and (m := re.match(r"\[(\d+)\]\s+(.+)", line)):
                cameras.append(CameraInfo(m.group(1), m.group(2)))
        elif (m := re.match(r'"(.+)"\s+\(video\)', line)):
            cameras.append(CameraInfo(str(len(cameras)), m.group(1)))
    return cameras


def resolve_device(device: str, fmt: str) -> str:
    """The option's device ("0", "/dev/video2", a camera name) as FFmpeg's input string."""
    if fmt == "v4l2":
        path = f"/dev/video{device}" if device.isdigit() else device
        if not Path(path).exists():
            found = ", ".join(c.device for c in list_cameras()) or "none"
            raise DeviceError(f"no camera found: {path} does not exist (cameras: {found}); {NO_CAMERA_HINT}")
        return path
    if fmt == "dshow":
        if device.isdigit():
            cameras = list_cameras()
            if int(device) >= len(cameras):
                raise DeviceError(f"no camera found: index {device} (cameras: {len(cameras)}); "
                                  f"{NO_CAMERA_HINT}")
            device = cameras[int(device)].name
        return f"video={device}"
    return device     # avfoundation takes the index or the name as is


class CameraSource(Node):
    """Opens the camera at the requested size and rate (the driver may grant another: frames carry
    whatever it delivers) and emits each frame as soon as it is decoded, stamped on arrival.

    out: frame (Frame, BGR), meta: media time (the driver's capture time)   always live: edges
         default to dropping stale frames
    options: device (index or path/name), width, height, fps
    """

    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        device: str = "0"
        width: int = 1280
        height: int = 720
        fps: float = 30.0

        def __post_init__(self):
            if not self.device:
                raise ValueError("device must be an index or a device path/name")
            if self.width < 16 or self.height < 16:
                raise ValueError(f"width and height must be >= 16, got {self.width}x{self.height}")
            check_ranges(self, fps=(Above(0), 240))

    @classmethod
    def live_for(cls, options) -> bool:
        return True     # a camera delivers in real time whatever the options

    def open(self, ctx) -> None:
        fmt = device_format()
        source = resolve_device(self.options.device, fmt)
        options = {"video_size": f"{self.options.width}x{self.options.height}",
                   "framerate": f"{self.options.fps:g}"}
        try:
            self._container = av.open(source, format=fmt, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"cannot open camera {source} ({fmt}, {options['video_size']} at "
                              f"{options['framerate']} fps): {exc}; {NO_CAMERA_HINT}") from exc
        self._frames = self._container.decode(video=0)
        self._clock = SourceClock()

    def process(self, ctx) -> None:
        try:
            frame = next(self._frames)
        except StopIteration:
            raise DeviceError(f"camera {self.options.device} stopped delivering frames") from None
        except av.FFmpegError as exc:
            raise DeviceError(f"camera {self.options.device} failed: {exc}") from exc
        capture_ts_ns = self._clock.stamp()
        ctx.emit("frame", ctx.new_packet(frame.to_ndarray(format="bgr24"), capture_ts_ns=capture_ts_ns,
                                         meta=self._media_time(frame, capture_ts_ns)))

    def _media_time(self, frame: av.VideoFrame, capture_ts_ns: int) -> dict:
        """The driver's own capture time (v4l2 stamps each buffer when the sensor delivered it, more
        exact than our arrival stamp), else the arrival stamp; the requested rate as nominal rate."""
        time_base = frame.time_base or self._container.streams.video[0].time_base
        if frame.pts is not None and time_base:
            return media_meta(frame.pts, time_base, self.options.fps)
        return media_meta(capture_ts_ns, NANOSECONDS, self.options.fps)

    def close(self, ctx) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
