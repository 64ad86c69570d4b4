"""Where converted models live: the user's model cache directory, and atomic writes into it.

Not for: deciding whether a cached model is valid (models/fetch.py) or listing models (models/registry.py).
Order: an explicit directory (``--cache-dir``), then $PORTRAITFLOW_CACHE, then
$XDG_CACHE_HOME/portraitflow/models, then ~/.cache/portraitflow/models. User models go in its ``user/``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "PORTRAITFLOW_CACHE"
USER_MODELS_DIR = "user"


def model_cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The model cache directory (not created here)."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "portraitflow" / "models"


def user_models_dir(cache_dir: Path) -> Path:
    """Where a user drops ``NAME.toml`` + ``NAME.onnx`` to add a model without code."""
    return cache_dir / USER_MODELS_DIR


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new one, never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes 0600; a cache is readable like any other file
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
