"""VideoSink: real H.264 files decoded back with PyAV: every frame, right size, right content, and
playable after an error or a hard kill."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from portraitflow.devices.sample_source import SampleSource
from portraitflow.devices.video_sink import VideoSink
from portraitflow.graph import ConfigError, DeviceError
from portraitflow.graph.packet import Packet
from portraitflow.graph.testing import make_node, packets, run_node

from device_helpers import decode_all, mean_abs_error, numbered_frame

HERE = Path(__file__).parent


@pytest.mark.parametrize("ext", ["mp4", "mkv", "mov"])
def test_every_frame_comes_back_at_the_right_size_and_resembling_the_input(tmp_path, ext):
    frames = run_node(make_node(SampleSource, {"frames": 40}))["frame"]
    path = tmp_path / f"out.{ext}"
    run_node(make_node(VideoSink, {"path": str(path)}), {"frame": frames})
    decoded = decode_all(path)
    assert len(decoded) == 40
    assert decoded[0].shape == (720, 1280, 3)
    assert mean_abs_error(decoded[0], frames[0].payload) < 3.0
    assert mean_abs_error(decoded[-1], frames[-1].payload) < 3.0
    # and the frames are in order: the last decoded frame is closer to the last input than to the first
    assert mean_abs_error(decoded[-1], frames[-1].payload) < mean_abs_error(decoded[-1], frames[0].payload)


def test_index_timestamps_give_a_constant_rate(tmp_path):
    import av
    path = tmp_path / "out.mp4"
    run_node(make_node(VideoSink, {"path": str(path), "fps": 25.0}),
             {"frame": packets([numbered_frame(i) for i in range(10)], period_ns=5_000_000)})
    with av.open(str(path)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    assert np.allclose(np.diff(times), 1 / 25, atol=1e-3)


def test_capture_timestamps_keep_the_real_timing_and_its_gaps(tmp_path):
    import av
    path = tmp_path / "out.mkv"
    base = packets([numbered_frame(i) for i in range(6)], period_ns=40_000_000)
    # a 400 ms gap after frame 2, as when a live run dropped frames
    timed = [p if p.seq < 3 else Packet(p.payload, p.capture_ts_ns + 400_000_000, p.seq) for p in base]
    run_node(make_node(VideoSink, {"path": str(path), "timestamps": "capture"}), {"frame": timed})
    with av.open(str(path)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    gaps = np.diff(times)
    assert np.allclose(gaps[[0, 1, 3, 4]], 0.040, atol=0.002)
    assert gaps[2] == pytest.approx(0.440, abs=0.002)


def test_odd_sizes_are_padded_to_even_and_alpha_is_dropped(tmp_path):
    bgr = numbered_frame(3, width=321, height=241)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 7, np.uint8)])
    path = tmp_path / "odd.mp4"
    run_node(make_node(VideoSink, {"path": str(path)}), {"frame": packets([bgra, bgra])})
    decoded = decode_all(path)
    assert len(decoded) == 2
    assert decoded[0].shape == (242, 322, 3)
    assert mean_abs_error(decoded[0][:241, :321], bgr) < 3.0


def test_a_frame_of_another_size_is_letterboxed_into_the_recording_and_counted(tmp_path):
    path = tmp_path / "mixed.mp4"
    good = [numbered_frame(i) for i in range(12)]
    wide = numbered_frame(12, width=320, height=120)     # half as tall: black bars above and below
    result = run_node(make_node(VideoSink, {"path": str(path)}), {"frame": packets(good + [wide] + good[:2])})
    decoded = decode_all(path)
    assert len(decoded) == 15 and decoded[12].shape == (240, 320, 3)
    assert result.counters["frames_letterboxed"] == 1
    assert decoded[12][:50].max() < 30 and decoded[12][-50:].max() < 30     # the bars
    assert mean_abs_error(decoded[12][60:180], wide) < 4.0                   # the picture, unstretched
    assert mean_abs_error(decoded[-1], good[1]) < 3.0


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_a_hard_kill_keeps_the_completed_fragments(tmp_path, ext):
    path = tmp_path / f"killed.{ext}"
    frames = 90     # 30 fps, keyframe every 0.5 s: six fragments of 15 frames
    result = subprocess.run([sys.executable, str(HERE / "kill_writer.py"), str(path), str(frames)],
                            cwd=HERE, capture_output=True, timeout=60)
    assert result.returncode == -9, result.stderr.decode()
    decoded = decode_all(path)
    # lost at most: the frames inside the encoder (x264 lookahead, ~12) and the open fragment(s)
    assert 90 - 45 <= len(decoded) < frames
    for i in (0, len(decoded) // 2, len(decoded) - 1):
        assert mean_abs_error(decoded[i], numbered_frame(i)) < 3.0, f"frame {i} differs"


def test_no_frame_no_file(tmp_path):
    path = tmp_path / "empty.mp4"
    run_node(make_node(VideoSink, {"path": str(path)}), {"frame": []})
    assert not path.exists()


def test_frames_written_are_counted(tmp_path):
    sink = make_node(VideoSink, {"path": str(tmp_path / "c.mkv")})
    result = run_node(sink, {"frame": packets([numbered_frame(i) for i in range(5)])})
    assert result.counters == {"frames_written": 5}


@pytest.mark.parametrize("options, message", [
    ({"path": "out.avi"}, "path must end in"),
    ({"path": "out.mp4", "crf": 60}, "crf must be in"),
    ({"path": "out.mp4", "preset": "warp"}, "expected 'ultrafast'"),
    ({"path": "out.mp4", "timestamps": "wall"}, "expected 'media' or 'capture' or 'index'"),
])
def test_bad_options_name_the_field(options, message):
    with pytest.raises(ConfigError, match=message):
        make_node(VideoSink, options)


def test_missing_directory_is_a_device_error_naming_it(tmp_path):
    sink = make_node(VideoSink, {"path": str(tmp_path / "nowhere" / "out.mp4")})
    with pytest.raises(DeviceError, match="nowhere"):
        run_node(sink, {"frame": packets([numbered_frame(0)])})
