"""`portraitflow eval`: score the mask chain on a folder of photos with ground-truth masks.

Not for: the scoring itself (evaluation/folder_eval.py); this parses arguments and prints.
"""
from __future__ import annotations

import argparse
import math
import sys

from .flags import float_in, int_in


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="score masks on photos with ground truth (IoU, boundary F) and draw the worst",
        description="Print IoU and boundary F-measure per photo and their mean for a folder of photos "
                    "with ground-truth masks (paired by file stem), and write a contact sheet PNG of the "
                    "worst cases (image, truth, ours, difference: red missed, blue extra).")
    p.add_argument("--images", required=True, help="folder of photos (png, jpg, bmp, webp)")
    p.add_argument("--masks", required=True,
                   help="folder of truth masks: greyscale images or .npy, same stems as the photos")
    p.add_argument("--chain", choices=("raw", "default"), default="default",
                   help="raw: the model's mask stretched bilinearly; default: gated by the second model, then "
                        "the fringe "
                        "(default: %(default)s)")
    p.add_argument("--model", default="auto",
                   help="model name, or auto to pick by each photo's aspect (default: %(default)s)")
    p.add_argument("--sheet", default="eval-worst.png",
                   help="contact sheet PNG to write (default: %(default)s)")
    p.add_argument("--worst", type=int_in(1, 100), default=4, help="rows on the sheet (default: %(default)s)")
    p.add_argument("--tolerance", type=float_in(0, 100), default=2.0,
                   help="boundary F tolerance in px (default: %(default)s)")
    p.add_argument("--cache-dir", default=None, help="model cache directory")
    p.set_defaults(func=run_eval)


def _segmenters(model: str, cache_dir: str | None, gate: bool):
    """frame -> model mask, loading each model once (models fetched on first use); ``gate``: the
    default chain's two-model gate and frame edges (nodes/segment.py), off for the raw chain (MediaPipe's
    own masks)."""
    from ..nodes.segment import GATE_AUTO, GATE_NONE, FrameSegmenter

    # gate_every 1: every photo is its own scene, never gated with the last photo's gate
    segmenter = FrameSegmenter(model, threads=1, gate_model=GATE_AUTO if gate else GATE_NONE,
                               frame_edges="auto" if gate else "keep", cache_dir=cache_dir, gate_every=1)
    return lambda frame: segmenter(frame)[0]


def run_eval(args: argparse.Namespace) -> int:
    from ..evaluation.contact_sheet import SheetRow, write_sheet
    from ..evaluation.folder_eval import format_table, pair_files, score_folder, worst
    from ..graph.errors import ConfigError

    if args.worst < 1:
        raise ConfigError(f"--worst must be at least 1, got {args.worst}")
    if not (args.tolerance > 0 and math.isfinite(args.tolerance)):
        raise ConfigError(f"--tolerance must be a positive number of px, got {args.tolerance}")
    pairs = pair_files(args.images, args.masks)
    scores = score_folder(pairs, _segmenters(args.model, args.cache_dir, args.chain == "default"), args.chain, args.tolerance)
    print(format_table(scores, args.chain, args.tolerance))
    rows = [SheetRow(f"{s.stem}  IoU {s.iou:.3f}  BF {s.boundary_f:.3f}", s.image_bgr, s.truth, s.ours)
            for s in worst(scores, args.worst)]
    path = write_sheet(rows, args.sheet)
    print(f"worst {len(rows)} drawn in {path}", file=sys.stderr)
    return 0
