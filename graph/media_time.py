"""Media time: the presentation time a source knows for each frame, carried in packet metadata.

Not for: the graph's own clock (``capture_ts_ns``, graph/packet.py), which says when a frame was
captured or decoded on this machine and drives pairing and latency. Media time says where the frame
sits in its media: a file's own pts and time base, a camera's capture time, a clip's index / fps.
Sinks derive output timestamps from it (devices/output_clock.py), so a 25 fps file stays 25 fps.

Every source sets the same three keys, defined here once:
    media_pts         int, in units of media_time_base; increases within a stream (a looped file
                      keeps counting up), may start anywhere (sinks measure from the first frame)
    media_time_base   "num/den" (str: packet metadata must stay msgpack-friendly)
    media_rate        "num/den" frames per second: the source's nominal rate (codec set-up, keyframe
                      intervals); absent when the source does not know one
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

MEDIA_PTS = "media_pts"
MEDIA_TIME_BASE = "media_time_base"
MEDIA_RATE = "media_rate"
#: a camera's or the graph clock's time base, when the source has nothing finer
NANOSECONDS = Fraction(1, 1_000_000_000)


def fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def parse_fraction(text: str) -> Fraction | None:
    """ "num/den" (or an int/float written as text) -> Fraction; None when it is not one."""
    try:
        value = Fraction(text)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value


def media_meta(pts: int, time_base: Fraction, rate: Fraction | float | None = None) -> dict[str, Any]:
    """The metadata a source adds to a frame packet (merge it into its own meta)."""
    meta: dict[str, Any] = {MEDIA_PTS: int(pts), MEDIA_TIME_BASE: fraction_text(Fraction(time_base))}
    if rate:
        meta[MEDIA_RATE] = fraction_text(Fraction(rate).limit_denominator(1001))
    return meta


def media_seconds(meta: dict[str, Any]) -> Fraction | None:
    """A packet's media time in seconds (exact), or None when its source stamped none."""
    pts = meta.get(MEDIA_PTS)
    time_base = parse_fraction(meta.get(MEDIA_TIME_BASE, ""))
    if not isinstance(pts, int) or time_base is None or time_base <= 0:
        return None
    return pts * time_base


def media_rate(meta: dict[str, Any]) -> Fraction | None:
    """The source's nominal frame rate, or None when it did not say."""
    rate = parse_fraction(meta.get(MEDIA_RATE, ""))
    return rate if rate is not None and rate > 0 else None
