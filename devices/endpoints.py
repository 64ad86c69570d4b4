"""Turn the command line's --input and --output strings into a source or sink node type and its options.

Not for: building graphs (recipes/, graph/spec.py) or opening anything (the nodes do, in open()).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..graph import ConfigError, DeviceError

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv",
                    ".wmv", ".gif", ".y4m")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_OUTPUT_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".mov", ".webm")
STREAM_SCHEMES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")

INPUTS_ACCEPTED = ("sample; a video file (" + " ".join(VIDEO_EXTENSIONS) + ") or stream URL; "
                   "an image (" + " ".join(IMAGE_EXTENSIONS) + "); camera, camera:N or /dev/videoN")
OUTPUT_STREAM_SCHEMES = ("udp://", "tcp://", "srt://", "rtmp://", "rtmps://")
OUTPUTS_ACCEPTED = ("a video path (" + " ".join(VIDEO_OUTPUT_EXTENSIONS) + "; .mov and .webm keep alpha); "
                    "a .png path (may hold %05d, {seq:05d} or {index} for one file per frame); preview; null; vcam "
                    "(virtual camera); a stream URL (" + " ".join(OUTPUT_STREAM_SCHEMES) + ")")

Endpoint = tuple[str, dict[str, Any]]


def source_for(text: str) -> Endpoint:
    """--input -> (node type, options). A path must exist; a file with an unknown extension is
    handed to FFmpeg as a video (it reads far more than we list)."""
    spec = text.strip()
    if spec == "sample":
        return "sample_source", {}
    if spec == "camera":
        return "camera_source", {"device": "0"}
    if m := re.fullmatch(r"camera:(.+)", spec):
        return "camera_source", {"device": m.group(1)}
    if re.fullmatch(r"/dev/video\d+", spec):
        return "camera_source", {"device": spec}
    if spec.lower().startswith(STREAM_SCHEMES):
        return "video_source", {"path": spec}
    path = Path(spec)
    suffix = path.suffix.lower()
    if not spec or not path.is_file():
        what = "is a directory" if spec and path.is_dir() else "not found"
        raise DeviceError(f"--input {text!r}: {what}; accepted: {INPUTS_ACCEPTED}")
    if suffix in IMAGE_EXTENSIONS:
        return "image_source", {"path": spec}
    return "video_source", {"path": spec}


def sink_for(text: str) -> Endpoint:
    """--output -> (node type, options). The file is created when the first frame arrives."""
    spec = text.strip()
    if spec == "preview":
        return "preview_sink", {}
    if spec == "null":
        return "null_sink", {}
    if spec == "vcam":
        return "virtual_camera_sink", {}
    if spec.lower().startswith(OUTPUT_STREAM_SCHEMES):
        return "stream_sink", {"url": spec}
    suffix = Path(spec).suffix.lower()
    if suffix in VIDEO_OUTPUT_EXTENSIONS:
        return "video_sink", {"path": spec}
    if suffix == ".png":
        return "png_sink", {"path": spec}
    raise ConfigError(f"--output {text!r}: unknown kind of output; accepted: {OUTPUTS_ACCEPTED}")
