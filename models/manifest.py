"""A model's manifest: the TOML file that says how to feed a segmentation model and read its output.

Not for: finding manifests (models/registry.py) or running a model (models/segmenter.py).

A manifest is ``NAME.toml`` (the model's name is the file's stem)::

    description = "..."            # optional
    preferred_aspect = "16:9"      # optional, width:height; default: the input's own aspect
    file = "NAME.onnx"             # optional, user models: the .onnx beside the manifest

    [input]
    name = "input_1"               # the ONNX input's name
    width = 256                    # model input size in pixels
    height = 144
    layout = "NHWC"                # or "NCHW"
    color_order = "RGB"            # or "BGR"
    scale = 0.00392156862745098    # tensor = (pixel * scale - mean) / std, per channel
    mean = [0.0, 0.0, 0.0]         # in the model's colour order
    std = [1.0, 1.0, 1.0]

    [output]
    name = "..."                   # optional: default, the model's first output
    kind = "probability"           # or "logits" (sigmoid applied) or "softmax" (2+ class logits)
    layout = "NHWC"                # or "NCHW" (default: the input's layout)
    person_channel = 0             # which channel is the person (for a 2-class softmax: usually 1)

    [source]                       # built-in models only: where the weights come from
    wheel = "mediapipe==0.10.14"
    wheel_sha256 = "..."
    member = "path/inside/the/wheel.tflite"
    member_sha256 = "..."
    license = "Apache-2.0"
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..graph.errors import ConfigError

LAYOUTS = ("NHWC", "NCHW")
COLOR_ORDERS = ("RGB", "BGR")
OUTPUT_KINDS = ("probability", "logits", "softmax")


@dataclass(frozen=True)
class ModelSource:
    """Where a built-in model's weights come from: a member of a pinned wheel, both hashed."""

    wheel: str
    wheel_sha256: str
    member: str
    member_sha256: str
    license: str = ""


@dataclass(frozen=True)
class ModelManifest:
    """A validated manifest. ``path`` is the manifest file itself."""

    name: str
    path: Path
    input_name: str
    width: int
    height: int
    layout: str
    color_order: str
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_kind: str
    output_layout: str
    person_channel: int
    preferred_aspect: float
    output_name: str | None = None
    description: str = ""
    file: str | None = None
    source: ModelSource | None = None


class _Fields:
    """Reads one TOML table, naming file and field in every error, and rejects unknown keys."""

    def __init__(self, table: Any, file: str, prefix: str, allowed: tuple[str, ...]):
        if not isinstance(table, dict):
            raise ConfigError(f"expected a table, got {type(table).__name__}", file=file, field=prefix)
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
            raise ConfigError(f"unknown field (known: {', '.join(allowed)})", file=file, field=where)
        self.table, self.file, self.prefix = table, file, prefix

    def field(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, field=self.field(key))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "missing required field")
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(key, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def positive_int(self, key: str) -> int:
        value = self.get(key, int)
        if value < 1:
            raise self.fail(key, f"expected a positive integer, got {value}")
        return value

    def triple(self, key: str, default: tuple[float, float, float], nonzero: bool = False) -> tuple:
        value = self.get(key, list, list(default))
        if len(value) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise self.fail(key, f"expected a list of 3 numbers, got {value!r}")
        if nonzero and any(v == 0 for v in value):
            raise self.fail(key, f"expected non-zero values, got {value!r}")
        return tuple(float(v) for v in value)


def _parse_aspect(fields: _Fields, default: float) -> float:
    value = fields.get("preferred_aspect", (str, int, float), None)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            width, height = (float(part) for part in value.split(":"))
        except ValueError:
            raise fields.fail("preferred_aspect", f"expected 'W:H' such as '16:9', got {value!r}") from None
        value = width / height if height else 0.0
    if value <= 0:
        raise fields.fail("preferred_aspect", f"expected a positive aspect, got {value!r}")
    return float(value)


def parse_manifest(data: dict[str, Any], name: str, path: Path) -> ModelManifest:
    """Validate manifest data (already parsed TOML). Raises ConfigError naming file and field."""
    file = str(path)
    top = _Fields(data, file, "", ("description", "preferred_aspect", "file", "input", "output", "source"))
    inp = _Fields(top.get("input", dict), file, "input",
                  ("name", "width", "height", "layout", "color_order", "scale", "mean", "std"))
    width, height = inp.positive_int("width"), inp.positive_int("height")
    layout = inp.choice("layout", LAYOUTS)
    scale = float(inp.get("scale", (int, float), 1.0))
    if scale <= 0:
        raise inp.fail("scale", f"expected a positive number, got {scale}")
    out = _Fields(top.get("output", dict), file, "output", ("name", "kind", "layout", "person_channel"))
    kind = out.choice("kind", OUTPUT_KINDS)
    person_channel = out.get("person_channel", int, 1 if kind == "softmax" else 0)
    if person_channel < 0:
        raise out.fail("person_channel", f"expected >= 0, got {person_channel}")
    source = None
    if "source" in data:
        src = _Fields(data["source"], file, "source",
                      ("wheel", "wheel_sha256", "member", "member_sha256", "license"))
        hashes = {}
        for key in ("wheel_sha256", "member_sha256"):
            value = src.get(key, str)
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise src.fail(key, f"expected 64 lowercase hex digits, got {value!r}")
            hashes[key] = value
        source = ModelSource(wheel=src.get("wheel", str), member=src.get("member", str),
                             license=src.get("license", str, ""), **hashes)
    model_file = top.get("file", str, None)
    if model_file is not None and (Path(model_file).is_absolute() or ".." in Path(model_file).parts):
        raise top.fail("file", f"expected a file name beside the manifest, got {model_file!r}")
    return ModelManifest(
        name=name, path=path, description=top.get("description", str, ""),
        input_name=inp.get("name", str), width=width, height=height, layout=layout,
        color_order=inp.choice("color_order", COLOR_ORDERS), scale=scale,
        mean=inp.triple("mean", (0.0, 0.0, 0.0)), std=inp.triple("std", (1.0, 1.0, 1.0), nonzero=True),
        output_kind=kind, output_layout=out.choice("layout", LAYOUTS, layout), person_channel=person_channel,
        output_name=out.get("name", str, None), preferred_aspect=_parse_aspect(top, width / height),
        file=model_file, source=source)


def load_manifest(path: str | Path) -> ModelManifest:
    """Read and validate ``NAME.toml``; the model's name is the file's stem."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("manifest not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None
    return parse_manifest(data, path.stem, path)
