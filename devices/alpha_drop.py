"""The one warning a sink gives when it receives frames with alpha that it cannot keep.

Not for: keeping alpha (video_codecs.py chooses codecs that do) or drawing a key colour (nodes/key_colour.py).
Printed on stderr, once per sink, not as a Python warning (a run is not a library call, and the tests turn
Python warnings into errors); every such frame is also counted as ``alpha_dropped``.
"""
from __future__ import annotations

import sys

import numpy as np

from .video_codecs import ALPHA_OUTPUTS


class AlphaDropWarning:
    """``check(ctx, image)`` on each frame a sink writes without its alpha."""

    def __init__(self, sink: str):
        self.sink = sink
        self._said = False

    def check(self, ctx, image: np.ndarray) -> None:
        if image.ndim != 3 or image.shape[2] != 4:
            return
        ctx.count("alpha_dropped")
        if self._said:
            return
        self._said = True
        print(f"portraitflow: warning: {self.sink} cannot carry alpha: the frames' transparency is dropped "
              f"and the colour under it shows; to keep it write {ALPHA_OUTPUTS}, or add --key-colour "
              f"green|blue|#RRGGBB for a flat key colour behind the person (OBS's chroma key)",
              file=sys.stderr, flush=True)
