"""`portraitflow models fetch|list`: get the default models into the cache, and show what is installed.

Not for: converting by hand or running models (models/ does both; `mask` and `run` fetch on demand).
"""
from __future__ import annotations

import argparse

from ..graph.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="fetch the segmentation models, list installed ones")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    fetch = sub.add_parser(
        "fetch", help="download (pip), verify and convert the default models into the cache",
        description="Fetch the pinned mediapipe wheel with pip (your pip configuration applies), check "
                    "its sha256 and each model's, convert the .tflite files to ONNX and cache them. "
                    "Offline: copy the wheel from another machine and pass --from-wheel.")
    fetch.add_argument("--cache-dir", default=None,
                       help="model cache (default: $PORTRAITFLOW_CACHE, else ~/.cache/portraitflow/models)")
    fetch.add_argument("--from-wheel", metavar="PATH", default=None,
                       help="use this mediapipe-0.10.14 wheel instead of calling pip")
    fetch.add_argument("--model", action="append", metavar="NAME",
                       help="only this model (repeatable; default: every built-in model)")
    fetch.add_argument("--force", action="store_true", help="convert again even when the cache is valid")
    fetch.set_defaults(func=_fetch)
    listing = sub.add_parser("list", help="show every known model, where it is and its input/output contract")
    listing.add_argument("--cache-dir", default=None, help="model cache (default: as for fetch)")
    listing.set_defaults(func=_list)


def _fetch(args: argparse.Namespace) -> int:
    from ..models.fetch import fetch_models
    if args.from_wheel is not None:
        from pathlib import Path
        if not Path(args.from_wheel).is_file():
            raise ModelError(f"--from-wheel: no such file: {args.from_wheel}")
    paths = fetch_models(args.model, cache_dir=args.cache_dir, from_wheel=args.from_wheel, force=args.force)
    for path in paths:
        print(f"ready: {path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..models.cache import model_cache_dir, user_models_dir
    from ..models.fetch import list_models

    cache = model_cache_dir(args.cache_dir)
    print(f"model cache: {cache}   (user models: {user_models_dir(cache)}/NAME.toml + NAME.onnx)")
    for model, ready in list_models(cache):
        m = model.manifest
        state = "ready" if ready else ("not fetched: run `portraitflow models fetch`" if model.builtin
                                       else "missing .onnx")
        kind = m.output_kind + (f" (person channel {m.person_channel})" if m.output_kind == "softmax" else "")
        print(f"{m.name:<20} {'built-in' if model.builtin else 'user':<8} {state}")
        print(f"    file:   {model.onnx_path}")
        print(f"    input:  {m.input_name!r} {m.width}x{m.height} {m.layout} {m.color_order}, "
              f"(pixel * {m.scale:.6g} - mean {list(m.mean)}) / std {list(m.std)}")
        print(f"    output: {kind}, {m.output_layout}; preferred aspect {m.preferred_aspect:.3g}:1")
        if m.description:
            print(f"    about:  {m.description}")
    return 0
