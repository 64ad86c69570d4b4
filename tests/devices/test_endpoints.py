"""--input / --output strings to node types and options, and the errors listing what is accepted."""
from __future__ import annotations

import pytest

from portraitflow.devices.endpoints import sink_for, source_for
from portraitflow.graph import ConfigError, DeviceError


@pytest.fixture
def files(tmp_path):
    for name in ("clip.mp4", "clip.MOV", "photo.jpg", "photo.PNG", "capture.bin"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


@pytest.mark.parametrize("text, expected", [
    ("sample", ("sample_source", {})),
    ("camera", ("camera_source", {"device": "0"})),
    ("camera:2", ("camera_source", {"device": "2"})),
    ("/dev/video4", ("camera_source", {"device": "/dev/video4"})),
    ("rtsp://cam.local/stream", ("video_source", {"path": "rtsp://cam.local/stream"})),
])
def test_sources_by_keyword(text, expected):
    assert source_for(text) == expected


@pytest.mark.parametrize("name, node_type", [
    ("clip.mp4", "video_source"), ("clip.MOV", "video_source"), ("photo.jpg", "image_source"),
    ("photo.PNG", "image_source"), ("capture.bin", "video_source"),   # unknown: FFmpeg probes it
])
def test_sources_by_file(files, name, node_type):
    assert source_for(str(files / name)) == (node_type, {"path": str(files / name)})


@pytest.mark.parametrize("text", ["missing.mp4", "camra", ""])
def test_unknown_or_missing_input_names_it_and_lists_what_is_accepted(text):
    with pytest.raises(DeviceError) as info:
        source_for(text)
    message = str(info.value)
    assert repr(text) in message and "sample" in message and "camera:N" in message


def test_a_directory_is_not_an_input(tmp_path):
    with pytest.raises(DeviceError, match="is a directory"):
        source_for(str(tmp_path))


@pytest.mark.parametrize("text, expected", [
    ("out.mp4", ("video_sink", {"path": "out.mp4"})),
    ("out.MKV", ("video_sink", {"path": "out.MKV"})),
    ("out.mov", ("video_sink", {"path": "out.mov"})),
    ("still.png", ("png_sink", {"path": "still.png"})),
    ("frames/{seq:05d}.png", ("png_sink", {"path": "frames/{seq:05d}.png"})),
    ("preview", ("preview_sink", {})),
    ("null", ("null_sink", {})),
    ("vcam", ("virtual_camera_sink", {})),
    ("udp://127.0.0.1:23000", ("stream_sink", {"url": "udp://127.0.0.1:23000"})),
    ("rtmp://127.0.0.1/live/me", ("stream_sink", {"url": "rtmp://127.0.0.1/live/me"})),
])
def test_sinks(text, expected):
    assert sink_for(text) == expected


@pytest.mark.parametrize("text", ["out.avi", "screen", "out", "http://example.invalid/x"])
def test_unknown_output_lists_what_is_accepted(text):
    with pytest.raises(ConfigError, match=r"unknown kind of output; accepted: .*\.mp4.*preview; null"):
        sink_for(text)
