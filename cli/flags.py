"""Command-line value types shared by the subcommands: ranged numbers and WIDTHxHEIGHT sizes, checked
when the line is parsed, and the --size / --max-size pair that run and render both take.

Not for: option checks inside graphs (graph/options.py does those for graph and recipe files).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

#: the largest output side we accept (8K UHD is 7680x4320); matches nodes/resize.py
MAX_SIDE = 8192


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound when high is None)."""
    expected = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    parse.__name__ = "integer"   # argparse names the type in its messages
    return parse


def float_in(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number in (low, high] (frame rates: 0 is not a rate)."""
    expected = f"a number > {low:g} and <= {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not low < value <= high:   # also refuses nan
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def size(text: str) -> tuple[int, int]:
    """An argparse type: '1920x1080' -> (1920, 1080), each side in [16, MAX_SIDE]."""
    width, sep, height = text.strip().lower().partition("x")
    try:
        value = (int(width), int(height)) if sep else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}")
    if not all(16 <= side <= MAX_SIDE for side in value):
        raise argparse.ArgumentTypeError(f"width and height must be in [16, {MAX_SIDE}], got {text!r}")
    return value


def add_size_flags(parser: argparse.ArgumentParser) -> None:
    """--size / --max-size: by default the output keeps the input's resolution."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--size", type=size, metavar="WxH",
                       help="output exactly WxH: scaled to cover it and centre-cropped, so no bars are "
                            "drawn into the picture (default: the input's own size)")
    group.add_argument("--max-size", type=size, metavar="WxH",
                       help="output at most WxH, aspect kept (larger inputs are scaled down, smaller "
                            "ones kept as they are)")


def resize_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """Options of the resize node (nodes/resize.py) the flags ask for, or None to keep the input's size."""
    if getattr(args, "size", None):
        return {"width": args.size[0], "height": args.size[1], "fit": "cover"}
    if getattr(args, "max_size", None):
        return {"width": args.max_size[0], "height": args.max_size[1], "fit": "within"}
    return None


def describe_resize(options: dict[str, Any] | None) -> str:
    """'size 1280x720 (cover, centre-cropped)' for the messages that say what size was written."""
    if options is None:
        return "the input's size"
    how = "cover, centre-cropped" if options["fit"] == "cover" else "at most, aspect kept"
    return f"{options['width']}x{options['height']} ({how})"
