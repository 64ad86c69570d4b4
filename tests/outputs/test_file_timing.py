"""A file through `portraitflow run` (a real process, the real model and chain) keeps its timing and its
sound: same frame count, rate and duration (+-1 frame), audio as long as the video (+-50 ms) and in sync,
for a 25 fps clip with AAC, a 10 fps clip, a variable-rate clip and a 1080p clip; --fps and --no-audio."""
from __future__ import annotations

import subprocess
import sys

import pytest

from support.media_files import probe, write_clip


def run_cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "portraitflow", "run", "--quiet", *args],
                            capture_output=True, text=True, timeout=300)
    return result


def assert_same_timing(source, output, tolerance_frames: float = 1.0) -> None:
    frame = 1 / source.fps
    assert output.frames == source.frames
    assert output.fps == pytest.approx(source.fps, rel=0.01)
    assert output.duration == pytest.approx(source.duration, abs=tolerance_frames * frame)


def assert_sound_matches_video(output, codec: str) -> None:
    assert output.audio_codec == codec
    assert output.audio_seconds == pytest.approx(output.duration, abs=0.05)
    # in sync: the sound starts with the first picture (the muxer may shift both tracks alike)
    assert output.audio_start == pytest.approx(output.video_start, abs=0.05)


@pytest.mark.parametrize("ext", ["mp4", "mkv", "mov"])
def test_a_25_fps_clip_with_aac_keeps_rate_duration_and_sound(tmp_path, ext):
    src = write_clip(tmp_path / "in.mp4", fps=25, frames=200)          # 8.0 s
    out = tmp_path / f"out.{ext}"
    result = run_cli("--input", str(src), "--output", str(out))
    assert result.returncode == 0, result.stderr
    source, output = probe(src), probe(out)
    assert source.duration == pytest.approx(8.0, abs=0.01)
    assert_same_timing(source, output)
    assert_sound_matches_video(output, "aac")


def test_a_10_fps_clip_stays_10_fps(tmp_path):
    src = write_clip(tmp_path / "in.mkv", fps=10, frames=50, audio_codec=None)
    out = tmp_path / "out.mp4"
    result = run_cli("--input", str(src), "--output", str(out))
    assert result.returncode == 0, result.stderr
    output = probe(out)
    assert_same_timing(probe(src), output)
    assert output.fps == pytest.approx(10, rel=0.01) and output.audio_codec is None


def test_a_variable_rate_clip_keeps_every_frames_time(tmp_path):
    # 30 fps with 50 ms and 16 ms frames mixed in and a 300 ms stall, as a phone records
    times, t = [], 0.0
    for i in range(90):
        times.append(round(t, 3))
        t += 0.300 if i == 40 else (0.050 if i % 7 == 3 else (0.016 if i % 11 == 5 else 0.033))
    src = write_clip(tmp_path / "vfr.mkv", fps=30, frame_times_s=times)
    out = tmp_path / "out.mkv"
    result = run_cli("--input", str(src), "--output", str(out))
    assert result.returncode == 0, result.stderr
    source, output = probe(src), probe(out)
    assert output.frames == source.frames
    assert output.frame_times == pytest.approx(source.frame_times, abs=0.002)
    assert_sound_matches_video(output, "aac")


def test_pcm_sound_is_reencoded_to_aac_where_the_container_cannot_carry_it(tmp_path):
    src = write_clip(tmp_path / "pcm.mkv", fps=30, frames=90, audio_codec="pcm_s16le")
    out = tmp_path / "out.mp4"
    result = run_cli("--input", str(src), "--output", str(out))
    assert result.returncode == 0, result.stderr
    output = probe(out)
    assert_same_timing(probe(src), output)
    assert_sound_matches_video(output, "aac")


def test_max_frames_cuts_the_sound_where_the_video_ends(tmp_path):
    src = write_clip(tmp_path / "in.mp4", fps=25, frames=200)
    out = tmp_path / "cut.mkv"
    result = run_cli("--input", str(src), "--output", str(out), "--max-frames", "50")
    assert result.returncode == 0, result.stderr
    output = probe(out)
    assert output.frames == 50 and output.duration == pytest.approx(2.0, abs=0.04)
    assert_sound_matches_video(output, "aac")


def test_fps_resamples_and_no_audio_drops_the_sound(tmp_path):
    src = write_clip(tmp_path / "in.mp4", fps=25, frames=100)           # 4.0 s
    out = tmp_path / "out.mp4"
    result = run_cli("--input", str(src), "--output", str(out), "--fps", "10", "--no-audio")
    assert result.returncode == 0, result.stderr
    output = probe(out)
    assert output.audio_codec is None
    assert output.fps == pytest.approx(10, rel=0.01)
    assert output.duration == pytest.approx(4.0, abs=0.1)
    assert output.frames == pytest.approx(40, abs=1)


def test_a_1080p_clip_keeps_size_rate_and_sound_through_a_graph_without_downscale(tmp_path):
    # the recipe chain's resolution is another change's (issue 11, --size); this graph has no downscale
    src = write_clip(tmp_path / "hd.mp4", fps=30, frames=60, width=1920, height=1080)
    out = tmp_path / "hd-out.mp4"
    graph = tmp_path / "copy.toml"
    graph.write_text(f"""
[nodes.capture]
type = "video_source"
options = {{ path = "{src}" }}
[nodes.output]
type = "video_sink"
inputs = {{ frame = "capture.frame" }}
options = {{ path = "{out}" }}
""")
    result = run_cli("--graph", str(graph))
    assert result.returncode == 0, result.stderr
    source, output = probe(src), probe(out)
    assert output.size == (1920, 1080)
    assert_same_timing(source, output)
    assert_sound_matches_video(output, "aac")


@pytest.mark.parametrize("scheme", ["udp", "rtmp"])
def test_a_stream_carries_the_files_sound(tmp_path, scheme):
    import socket

    from support.stream_receiving import free_port, received, start_receiver

    src = write_clip(tmp_path / "in.mp4", fps=25, frames=75)          # 3.0 s, AAC
    if scheme == "udp":
        url, fmt, listen = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "mpegts", False
    else:
        url, fmt, listen = f"rtmp://127.0.0.1:{free_port()}/live/sound", "flv", True
    receiver = start_receiver(url, fmt, 75, listen=listen)
    sound: list[dict] = []
    try:
        result = run_cli("--input", str(src), "--output", url)
        frames = received(receiver, sound=sound)
    finally:
        receiver.kill()
    assert result.returncode == 0, result.stderr
    assert len(frames) >= 60
    assert sound, "no audio in the stream"
    audio_seconds = sum(s["samples"] for s in sound) / sound[0]["rate"]
    video_seconds = frames[-1]["time"] - frames[0]["time"] + 1 / 25
    # UDP: the receiver joins at the first keyframe, the sound may start a little before it
    assert audio_seconds == pytest.approx(3.0 if scheme == "rtmp" else video_seconds, abs=0.15)
    # in sync: the sound decoded around the last frame is timed like it
    assert sound[-1]["audio_time"] == pytest.approx(frames[-1]["time"], abs=0.1)
