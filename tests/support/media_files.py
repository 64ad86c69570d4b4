"""Real media files for the timing tests, written with PyAV directly (not through our sinks, so a sink bug
cannot hide), and what a file really holds, read back with PyAV: frame times, rate, sound.

Not for: production code. Frames are smooth gradients with a moving bar (codec-friendly, a person-free
scene the chain handles like any other); sound is a 440 Hz tone.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48_000


def gradient_frame(index: int, width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    frame[..., 1] = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    frame[..., 2] = 96
    left = (index * 9) % (width - width // 10)
    frame[:, left:left + width // 10] = 240
    return frame


def write_clip(path: Path, *, fps: float = 25.0, frames: int = 0, frame_times_s: list[float] | None = None,
               width: int = 640, height: int = 360, audio_codec: str | None = "aac",
               audio_layout: str = "stereo", corrupt_packet: int | None = None) -> Path:
    """A clip with frames at i / fps (or at ``frame_times_s``: variable rate) and a tone lasting as long
    as the video. ``corrupt_packet``: that video packet's payload is overwritten with junk, as a
    damaged file has it (the container stays valid, the decoder refuses the packet)."""
    times = frame_times_s if frame_times_s is not None else [i / fps for i in range(frames)]
    time_base = Fraction(1, 1000) if frame_times_s is not None else Fraction(1, round(fps))
    end_s = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1 / fps)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                                     options={"preset": "ultrafast", "bf": "0"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = time_base
        audio = None
        if audio_codec:
            audio = container.add_stream(audio_codec, rate=AUDIO_RATE)
            audio.layout = audio_layout
        written = 0
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(gradient_frame(i, width, height), format="bgr24")
            frame.pts, frame.time_base = round(t / time_base), time_base
            for packet in video.encode(frame):
                if corrupt_packet is not None and written == corrupt_packet:
                    packet = _corrupted(packet)
                container.mux(packet)
                written += 1
        container.mux(video.encode(None))
        if audio is not None:
            _write_tone(container, audio, end_s)
    return path


def _corrupted(packet: av.Packet) -> av.Packet:
    """The packet with its slice data overwritten by junk, in place. The first 5 bytes (the NAL's
    length or start code, and its header) stay, so demuxers and parsers still see one packet; the
    decoder gets garbage where the slice header and macroblocks were."""
    payload = memoryview(packet)
    junk = np.random.default_rng(7).integers(0, 256, len(payload) - 5, dtype=np.uint8)
    junk[junk == 0] = 0xFF      # no start codes inside the junk: it must stay one packet
    payload[5:] = junk.tobytes()
    return packet


def _write_tone(container, audio, seconds: float) -> None:
    total = round(seconds * AUDIO_RATE)
    channels = 1 if audio.layout.nb_channels == 1 else 2
    fmt = audio.codec_context.format.name
    for start in range(0, total, 1024):
        n = min(1024, total - start)
        t = np.arange(start, start + n) / AUDIO_RATE
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        if fmt == "s16":
            samples = np.repeat((tone * 32767).astype(np.int16)[None, :], channels, 0).T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="s16",
                                               layout=audio.layout.name)
        else:
            frame = av.AudioFrame.from_ndarray(np.repeat(tone[None, :], channels, 0), format="fltp",
                                               layout=audio.layout.name)
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
        container.mux(audio.encode(frame))
    container.mux(audio.encode(None))


@dataclass
class Probe:
    """What a file holds, decoded: video frame times (s, from the first frame), size, sound."""

    frame_times: list[float]
    size: tuple[int, int]
    video_start: float
    audio_codec: str | None
    audio_start: float | None
    audio_seconds: float          # decoded samples / rate

    @property
    def frames(self) -> int:
        return len(self.frame_times)

    @property
    def fps(self) -> float:
        return (self.frames - 1) / (self.frame_times[-1] - self.frame_times[0])

    @property
    def duration(self) -> float:
        """First frame to the end of the last (the last lasts one average frame)."""
        return self.frame_times[-1] + 1 / self.fps


def probe(path: Path, cut_short: bool = False) -> Probe:
    """``cut_short``: the file ends mid-packet (a write failed): read up to the damage."""
    frames = []
    with av.open(str(path)) as container:
        try:
            for f in container.decode(video=0):
                frames.append((float(f.time), f.width, f.height))
        except av.InvalidDataError:
            if not cut_short:
                raise
    audio_codec, audio_start, samples, rate = None, None, 0, 1
    with av.open(str(path)) as container:
        if container.streams.audio:
            stream = container.streams.audio[0]
            audio_codec, rate = stream.codec_context.name, stream.codec_context.sample_rate
            for frame in container.decode(stream):
                if audio_start is None:
                    audio_start = float(frame.time)
                samples += frame.samples
    start = frames[0][0]
    return Probe([t - start for t, _, _ in frames], (frames[0][1], frames[0][2]), start, audio_codec,
                 audio_start, samples / rate)
