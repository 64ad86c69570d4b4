"""Write frames as PNG stills: one file per frame from a pattern, or one file kept at the latest frame.

Not for: video (video_sink.py). Alpha is kept: a BGRA frame becomes an RGBA PNG (straight alpha), so a
sequence of them is the lossless way to hand a cut-out to an editor.
in: frame (Frame, BGR or BGRA)   options: path, compression=1
example: `portraitflow run --input me.jpg --output me.png`; `--output "frames/{seq:05d}.png"`;
         `--output "cut/%05d.png"` (FFmpeg's image-sequence pattern: the frame index from 0)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2

from ..graph import DeviceError, Frame, Node
from ..graph.options import check_ranges

#: FFmpeg's printf-style sequence number (%d, %05d), read as this sink's {index}
_PRINTF_NUMBER = re.compile(r"%(0?\d*)d")


def brace_pattern(path: str) -> str:
    """'cut/%05d.png' -> 'cut/{index:05d}.png'; other paths (and their braces) unchanged."""
    return _PRINTF_NUMBER.sub(lambda m: "{index:" + (m.group(1) or "") + "d}", path)


class PngSink(Node):
    """``path`` with a field ({seq}, {index}, with any format spec such as {seq:05d}; or %05d, which is
    {index:05d}) writes one file per frame: seq is the source's sequence number (gaps where frames were dropped), index counts the
    frames this sink wrote (0, 1, 2, ...). A plain path is overwritten by each frame, so it ends
    holding the latest one; it is replaced atomically, so a viewer never reads a half-written file.
    Counts "frames_written".
    """

    inputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        path: str
        compression: int = 1     # zlib level: 1 is several times faster than 9 for ~10% more bytes

        def __post_init__(self):
            if not self.path.lower().endswith(".png"):
                raise ValueError(f"path must end in .png, got {self.path!r}")
            try:
                brace_pattern(self.path).format(seq=0, index=0)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"path pattern {self.path!r} may only use {{seq}} and {{index}}: "
                                 f"{exc}") from None
            check_ranges(self, compression=(0, 9))

    def open(self, ctx) -> None:
        self._path = brace_pattern(self.options.path)
        self._pattern = "{" in self._path
        self._index = 0
        parent = Path(self._path.format(seq=0, index=0)).parent
        if self._pattern and not parent.exists():   # a sequence goes in a folder of its own: make it
            try:
                parent.mkdir(parents=True)
            except OSError as exc:
                raise DeviceError(f"cannot write {self.options.path}: cannot create {parent}: {exc}") from exc
        if not parent.is_dir():
            raise DeviceError(f"cannot write {self.options.path}: directory {parent} does not exist")

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        path = self._path
        if self._pattern:
            path = path.format(seq=packet.seq, index=self._index)
        params = [cv2.IMWRITE_PNG_COMPRESSION, self.options.compression]
        ok, data = cv2.imencode(".png", packet.payload, params)
        if not ok:
            raise DeviceError(f"cannot encode frame {packet.seq} as PNG for {path}")
        temporary = f"{path}.partial"
        try:
            data.tofile(temporary)
            os.replace(temporary, path)
        except OSError as exc:
            raise DeviceError(f"cannot write {path}: {exc}") from exc
        self._index += 1
        ctx.count("frames_written")
