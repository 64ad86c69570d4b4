"""An output container that fails once, cleanly: the first write error is a DeviceError, and after it
nothing more is written (FFmpeg's MP4 muxer segfaults when written to again after a failed write).

Not for: encoding or timestamps (the sinks, devices/output_clock.py). Used by video_sink.py and
stream_sink.py so a full disk, an unwritable file or a dead network peer ends the run with one clear
line, and the file keeps what was written before the error.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import TYPE_CHECKING

import av

from ..graph import DeviceError

if TYPE_CHECKING:
    from .audio_track import AudioTrack


class Muxer:
    """``mux`` packets into ``container``; ``describe(exc)`` words the error (it names the file or URL)."""

    def __init__(self, container: av.container.OutputContainer, describe: Callable[[BaseException], str]):
        self.container = container
        self._describe = describe
        self.failed: DeviceError | None = None

    def mux(self, packets: Iterable[av.Packet] | av.Packet) -> None:
        if self.failed is not None:
            raise self.failed
        try:
            self.container.mux(packets)
        except (av.FFmpegError, OSError, ValueError) as exc:
            # never touch the muxer again: a second av_interleaved_write_frame after a failed one
            # crashes the MP4/MOV muxer (rc 139 on a full disk before this guard)
            self.failed = DeviceError(self._describe(exc))
            raise self.failed from exc

    def close(self) -> None:
        """Write the trailer and close. After a failed write the trailer is attempted once (it
        does not crash) but its error is not raised again: the first error is the one to report."""
        container, self.container = self.container, None
        if container is None:
            return
        try:
            container.close()
        except (av.FFmpegError, OSError, ValueError) as exc:
            if self.failed is None:
                self.failed = DeviceError(self._describe(exc))
                raise self.failed from exc


def finish_output(muxer: Muxer | None, flush_video: Callable[[], None], audio: AudioTrack | None,
                  end_s: Fraction) -> None:
    """A sink's close(): the frames still in the encoder (``flush_video``), the sound up to the video's
    end, then the trailer. After a failed write only the trailer is attempted (see Muxer); the sound and
    the trailer are written even when flushing the video fails, so the file keeps what it has."""
    if muxer is None:
        return
    try:
        if muxer.failed is None:
            flush_video()
    finally:
        try:
            if audio is not None:
                audio.finish(muxer, end_s)
        finally:
            muxer.close()
