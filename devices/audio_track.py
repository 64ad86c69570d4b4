"""The input file's sound in an output file or stream: copied packet for packet where the output
container takes the codec, re-encoded to AAC otherwise, interleaved with the video by time.

Not for: video (the sinks) or live audio capture (no microphone source exists). The sink that writes
reads the audio itself from the source file it is told about (``audio_from``): audio never travels
through the graph, so a video frame dropped or delayed by a stage cannot shift it; both tracks are
timed from the same media clock, zero at the first video frame's media time (graph/media_time.py).
The audio ends where the video ends (a run cut by --max-frames keeps only the matching sound).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..graph import DeviceError
from .muxer import Muxer

#: audio codecs each output muxer takes as they are (PyAV's supported_codecs cannot tell: muxers
#: without a codec tag table, MPEG-TS among them, answer "unknown"; FLV claims codecs players refuse)
COPYABLE = {
    "mp4": {"aac", "mp3", "opus", "flac", "alac", "ac3"},
    "mov": {"aac", "mp3", "alac", "pcm_s16le", "ac3"},
    "matroska": {"aac", "mp3", "opus", "vorbis", "flac", "pcm_s16le", "ac3", "alac"},
    "mpegts": {"aac", "mp3", "mp2", "ac3"},
    "flv": {"aac", "mp3"},
    "webm": {"opus", "vorbis"},
}
#: inputs whose audio packets only another transport stream takes as they are
TRANSPORT_STREAM_FORMATS = {"mpegts", "aac"}
#: what an output container gets when the input's codec cannot be copied into it: AAC, except WebM,
#: which takes only Opus or Vorbis
REENCODE_CODEC = "aac"
REENCODE_FOR_FORMAT = {"webm": "libopus"}
REENCODE_BITRATE = 160_000
#: Opus encodes only these rates
OPUS_RATES = (48_000, 24_000, 16_000, 12_000, 8_000)


def has_audio(path: str) -> bool:
    """Whether a media file has an audio stream (False when it cannot be read: the source says why)."""
    try:
        with av.open(path) as container:
            return bool(container.streams.audio)
    except (av.FFmpegError, OSError):
        return False


class AudioTrack:
    """One audio stream of ``source_path`` added to ``container`` (before its first packet is muxed).

    ``origin_s``: the source media time written at output time 0 (the first video frame's).
    Call ``write_until(t)`` before muxing video at output time t, ``finish(end_s)`` at the end.
    Counts go to ``count`` ("audio_packets_copied" or "audio_frames_encoded", "audio_decode_errors").
    """

    def __init__(self, source_path: str, container: av.container.OutputContainer, origin_s: Fraction,
                 count=None):
        if not Path(source_path).is_file():
            raise DeviceError(f"audio_from: file not found: {source_path}")
        try:
            self._input = av.open(source_path)
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"audio_from: cannot read {source_path}: {exc}") from exc
        if not self._input.streams.audio:
            self._input.close()
            raise DeviceError(f"audio_from: no audio stream in {source_path}")
        self.source_path = source_path
        self._in_stream = self._input.streams.audio[0]
        self._origin_s = origin_s
        self._count = count or (lambda name, n=1: None)
        codec = self._in_stream.codec_context.name
        out_format = container.format.name.split(",")[0]
        in_format = self._input.format.name.split(",")[0]
        # MPEG-TS stream types are not MP4/MKV/FLV codec tags, and its AAC has ADTS headers those
        # refuse ("Malformed AAC bitstream", "Tag [15] incompatible"): from a TS, copy only into a TS
        from_transport_stream = in_format in TRANSPORT_STREAM_FORMATS and out_format != "mpegts"
        self.copy = codec in COPYABLE.get(out_format, set()) and not from_transport_stream
        if self.copy:
            self._out_stream = container.add_stream_from_template(self._in_stream)
        else:
            self.encoder = REENCODE_FOR_FORMAT.get(out_format, REENCODE_CODEC)
            rate = self._in_stream.codec_context.sample_rate or 48_000
            if self.encoder == "libopus" and rate not in OPUS_RATES:
                rate = 48_000          # PyAV's encode resamples the decoded frames to it
            self._out_stream = container.add_stream(self.encoder, rate=rate)
            self._out_stream.bit_rate = REENCODE_BITRATE
            layout = self._in_stream.codec_context.layout
            # planar float (AAC) or packed 16-bit (Opus), mono or stereo (more would need a mapping)
            self._out_stream.format = "fltp" if self.encoder == REENCODE_CODEC else "s16"
            self._out_stream.layout = "mono" if layout is not None and layout.nb_channels == 1 else "stereo"
            self._out_stream.time_base = Fraction(1, rate)
        self._packets = self._input.demux(self._in_stream)
        self._pending: list[tuple[Fraction, object]] = []    # (output start s, packet or frame)
        self._done = False
        self.lead_s: Fraction | None = None      # set by the first packet written (see prime)
        self._written_until = Fraction(0)

    @property
    def codec_description(self) -> str:
        source = self._in_stream.codec_context.name
        return f"{source} copied" if self.copy else f"{source} re-encoded to {self.encoder}"

    def prime(self, muxer: Muxer) -> Fraction:
        """Before the first video packet: write sound until the first audio packet is out, and
        return ``lead_s``, how much later than the media clock both tracks must be written.

        An AAC encoder's first packet starts before 0 (its priming samples), as may a copied first
        packet. A fragmented MP4 has no edit list to say so, and FFmpeg's muxer then shifts the
        packets after the first (seen: 21 ms between video frames 0 and 1). So nothing negative is
        written: audio and video both go ``lead_s`` later, and stay in sync."""
        while self.lead_s is None and (self._pending or self._read_more()):
            _start_s, unit = self._pending.pop(0)
            self._write(muxer, unit, None)
        if self.lead_s is None:
            self.lead_s = Fraction(0)
        return self.lead_s

    def mux_with_video(self, muxer: Muxer, packets: list, time_base: Fraction) -> None:
        """Mux a sink's encoded video packets (in ``time_base``) with the sound interleaved: both
        tracks ``lead_s`` later (see prime), then the sound up to the last video packet, so audio
        never runs ahead of the video the muxer has (the MP4 muxer would shift the track by the
        encoder's delay after it)."""
        if not packets:
            muxer.mux(packets)
            return
        lead = round(self.prime(muxer) / time_base)
        for packet in packets:
            packet.pts += lead
            packet.dts += lead
        muxer.mux(packets)
        self.write_until(muxer, (packets[-1].dts - lead) * time_base)

    def write_until(self, muxer: Muxer, until_s: Fraction) -> None:
        """Mux every audio unit that starts before output time ``until_s``."""
        while True:
            if not self._pending and not self._read_more():
                return
            start_s, unit = self._pending[0]
            if start_s >= until_s:
                return
            self._pending.pop(0)
            self._write(muxer, unit, None)

    def finish(self, muxer: Muxer | None, end_s: Fraction) -> None:
        """Write the audio up to ``end_s`` (the video's end), cut there; flush; close the input."""
        try:
            if muxer is not None and muxer.failed is None:
                while self._pending or self._read_more():
                    start_s, unit = self._pending.pop(0)
                    if start_s >= end_s:
                        break
                    self._write(muxer, unit, end_s)
                if not self.copy:
                    packets = self._out_stream.encode(None)
                    lead = round((self.lead_s or 0) / self._out_stream.time_base)
                    for packet in packets:
                        packet.pts += lead
                        if packet.dts is not None:
                            packet.dts += lead
                    muxer.mux(packets)
        finally:
            self._input.close()

    # -- inside ----------------------------------------------------------------------------------
    def _read_more(self) -> bool:
        """Queue the next packet (copy) or its decoded frames (re-encode); False at the end."""
        if self._done:
            return False
        for packet in self._packets:
            if packet.pts is None or packet.size == 0:
                continue          # the demuxer's flush packet: no data
            start_s = packet.pts * packet.time_base - self._origin_s
            if self.copy:
                end_s = start_s + (packet.duration or 0) * packet.time_base
                if end_s <= 0 and packet.duration:
                    continue      # sound before the first video frame
                self._pending.append((start_s, packet))
                return True
            try:
                frames = packet.decode()
            except av.FFmpegError:
                self._count("audio_decode_errors")
                continue
            for frame in frames:
                frame_start = frame.pts * frame.time_base - self._origin_s if frame.pts is not None else start_s
                self._pending.append((frame_start, frame))
            if frames:
                return True
        self._done = True
        return False

    def _write(self, muxer: Muxer, unit, end_s: Fraction | None) -> None:
        if self.copy:
            packet = unit
            shift = round(self._origin_s / packet.time_base)
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = self._out_stream
            packets = [packet]
            self._count("audio_packets_copied")
        else:
            frame = self._trimmed(unit, end_s)
            if frame is None:
                return
            packets = self._out_stream.encode(frame)
            self._count("audio_frames_encoded")
        if not packets:
            return
        if self.lead_s is None:
            first = packets[0]
            self.lead_s = max(Fraction(0), -first.pts * first.time_base) if first.pts is not None else Fraction(0)
        for packet in packets:
            lead = round(self.lead_s / packet.time_base)
            packet.pts += lead
            if packet.dts is not None:
                packet.dts += lead
        muxer.mux(packets)

    def _trimmed(self, frame: av.AudioFrame, end_s: Fraction | None) -> av.AudioFrame | None:
        """The frame re-timed to the output clock, without samples before 0 or after ``end_s``."""
        rate = frame.sample_rate
        start = round((frame.pts * frame.time_base - self._origin_s) * rate) if frame.pts is not None \
            else round(self._written_until * rate)
        first = max(0, -start)
        last = frame.samples if end_s is None else min(frame.samples, round(end_s * rate) - start)
        if last <= first:
            return None
        if first or last < frame.samples:
            samples = frame.to_ndarray()
            planar = frame.format.is_planar
            cut = np.ascontiguousarray(samples[:, first:last] if planar else
                                       samples[:, first * len(frame.layout.channels):
                                               last * len(frame.layout.channels)])
            trimmed = av.AudioFrame.from_ndarray(cut, format=frame.format.name, layout=frame.layout.name)
            trimmed.sample_rate = rate
            frame = trimmed
        frame.pts = start + first
        frame.time_base = Fraction(1, rate)
        self._written_until = Fraction(start + last, rate)
        return frame
