"""The embedded default source: a short 1280x720 clip made on the fly from the bundled astronaut photo.

Not for: real input (video_source.py, camera_source.py). A newcomer runs the whole chain with no camera.
out: frame (Frame, 1280x720 BGR)   options: frames=150, fps=30.0, realtime=False
example: `portraitflow run` (the default --input sample)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..graph import DeviceError, EndOfStream, Frame, Node
from ..graph.media_time import media_meta
from ..graph.options import Above, check_ranges
from .pacing import SourceClock

PHOTO = Path(__file__).parent / "assets" / "astronaut_512.png"
WIDTH, HEIGHT = 1280, 720
#: the stage (photo plus filled sides) is this much larger than the frame, so the camera can move
#: and zoom out a little without ever showing an edge
STAGE_MARGIN = 1.3
ZOOM_SECONDS, PAN_X_SECONDS, PAN_Y_SECONDS = 11.0, 7.0, 9.0


def build_stage(photo: np.ndarray) -> np.ndarray:
    """The photo scaled to the stage height (the face becomes about a quarter of the frame height,
    as in a selfie) with its left and right edges stretched sideways into soft bands, so the canvas
    has no borders and no second person for the segmenter to find."""
    stage_w, stage_h = round(WIDTH * STAGE_MARGIN), round(HEIGHT * STAGE_MARGIN)
    photo = cv2.resize(photo, (stage_h, stage_h), interpolation=cv2.INTER_CUBIC)
    band_w = (stage_w - stage_h) // 2
    stage = np.empty((stage_h, stage_w, 3), np.uint8)
    x0 = band_w
    stage[:, x0:x0 + stage_h] = photo
    # each band row takes the photo's edge colour, fading towards the frame's mean: the flag's
    # stripes continue on the left, the studio backdrop on the right
    mean = photo.reshape(-1, 3).mean(axis=0, dtype=np.float32)
    fade = np.linspace(1.0, 0.55, band_w, dtype=np.float32)[None, :, None]
    left_edge = photo[:, :6].mean(axis=1, dtype=np.float32)[:, None, :]
    right_edge = photo[:, -6:].mean(axis=1, dtype=np.float32)[:, None, :]
    left = left_edge * fade[:, ::-1] + mean * (1.0 - fade[:, ::-1])
    right = right_edge * fade + mean * (1.0 - fade)
    stage[:, :x0] = cv2.GaussianBlur(left, (0, 0), 3).clip(0, 255).astype(np.uint8)
    right_w = stage_w - x0 - stage_h
    stage[:, x0 + stage_h:] = cv2.GaussianBlur(right[:, :right_w], (0, 0), 3).clip(0, 255).astype(np.uint8)
    # soften the two seams
    for seam in (x0, x0 + stage_h):
        lo, hi = seam - 12, seam + 12
        stage[:, lo:hi] = cv2.GaussianBlur(stage[:, lo - 8:hi + 8], (0, 0), 4)[:, 8:-8]
    return stage


def camera_move(t: float, stage_w: int, stage_h: int) -> np.ndarray:
    """The 2x3 affine matrix mapping stage pixels to frame pixels at time t (s): a slow zoom
    breathing between 1.18x and 1.06x of the frame, and a pan that stays inside the stage."""
    view = 1.12 + 0.06 * math.cos(2 * math.pi * t / ZOOM_SECONDS)    # stage px per frame px
    margin_x = (stage_w - WIDTH * view) / 2
    margin_y = (stage_h - HEIGHT * view) / 2
    center_x = stage_w / 2 + 0.8 * margin_x * math.sin(2 * math.pi * t / PAN_X_SECONDS)
    center_y = stage_h / 2 + 0.6 * margin_y * math.sin(2 * math.pi * t / PAN_Y_SECONDS)
    left, top = center_x - WIDTH * view / 2, center_y - HEIGHT * view / 2
    return np.array([[1 / view, 0, -left / view], [0, 1 / view, -top / view]], np.float32)


class SampleSource(Node):
    """A gentle camera move over the bundled portrait: the stage is built once in open(), each frame
    is one bilinear warpAffine (sub-pixel smooth, about 1.6 ms at 720p on one core).

    out: frame (Frame, 1280x720 BGR), meta {"frame_index": i} and media time i / fps (graph/media_time.py)
    options: frames (clip length), fps (clip rate; the motion is defined in seconds),
             realtime (pace at fps, like a camera: then `live` is True)
    """

    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        frames: int = 150
        fps: float = 30.0
        realtime: bool = False

        def __post_init__(self):
            if self.frames < 1:
                raise ValueError(f"frames must be >= 1, got {self.frames}")
            check_ranges(self, fps=(Above(0), 240))

    pace_option = "realtime"   # `run --realtime` / `--preview web` play it at its frame rate

    @classmethod
    def live_for(cls, options) -> bool:
        return options.realtime

    def open(self, ctx) -> None:
        photo = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
        if photo is None:
            raise DeviceError(f"sample photo missing or unreadable: {PHOTO} "
                              "(is the package installed whole?)")
        # OpenCV's warpAffine has a 4-channel SIMD path: warping BGRA then dropping alpha costs
        # 1.6 ms a 720p frame on one core against 2.9 ms for BGR directly (same pixels)
        self._stage = cv2.cvtColor(build_stage(photo), cv2.COLOR_BGR2BGRA)
        self._warped = np.empty((HEIGHT, WIDTH, 4), np.uint8)    # scratch, never emitted
        self._clock = SourceClock(self.options.fps, self.options.realtime)
        self._index = 0
        # media time: frame i at i / fps (an fps like 29.97 becomes 1001/30000 exactly)
        self._time_base = 1 / Fraction(self.options.fps).limit_denominator(1001)

    def process(self, ctx) -> None:
        i = self._index
        if i >= self.options.frames:
            raise EndOfStream
        stage_h, stage_w = self._stage.shape[:2]
        matrix = camera_move(i / self.options.fps, stage_w, stage_h)
        self._clock.wait_frame(i)
        # stamped when the frame is due, as a camera stamps its exposure; the warp after it is the
        # "read-out" (stamped after it, a slow first warp made paced frames look closer than a period)
        capture_ts_ns = self._clock.stamp()
        cv2.warpAffine(self._stage, matrix, (WIDTH, HEIGHT), dst=self._warped, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT)
        frame = cv2.cvtColor(self._warped, cv2.COLOR_BGRA2BGR)    # a new array per packet
        meta = {"frame_index": i, **media_meta(i, self._time_base, 1 / self._time_base)}
        ctx.emit("frame", ctx.new_packet(frame, capture_ts_ns=capture_ts_ns, meta=meta))
        self._index = i + 1
