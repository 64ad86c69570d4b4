"""The model registry: the built-in manifests shipped in models/manifests/ and user models in the cache.

Not for: fetching or converting (models/fetch.py). A user model is a ``NAME.toml`` manifest with its
``.onnx`` beside it in ``<cache>/user/``; a user model may not reuse a built-in's name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..graph.errors import ConfigError
from .cache import model_cache_dir, user_models_dir
from .manifest import ModelManifest, load_manifest

BUILTIN_MANIFESTS = Path(__file__).resolve().parent / "manifests"
#: the two default models, in the order `auto` considers them
DEFAULT_MODELS = ("selfie_general", "selfie_landscape")


@dataclass(frozen=True)
class RegisteredModel:
    """A manifest and where its .onnx is (or will be, for a built-in not fetched yet)."""

    manifest: ModelManifest
    onnx_path: Path
    builtin: bool

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def present(self) -> bool:
        return self.onnx_path.is_file()


def builtin_models(cache_dir: Path) -> dict[str, RegisteredModel]:
    found = {}
    for path in sorted(BUILTIN_MANIFESTS.glob("*.toml")):
        manifest = load_manifest(path)
        found[manifest.name] = RegisteredModel(manifest, cache_dir / f"{manifest.name}.onnx", builtin=True)
    return found


def user_models(cache_dir: Path) -> dict[str, RegisteredModel]:
    found = {}
    folder = user_models_dir(cache_dir)
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        manifest = load_manifest(path)
        found[manifest.name] = RegisteredModel(manifest, folder / (manifest.file or f"{manifest.name}.onnx"),
                                               builtin=False)
    return found


def all_models(cache_dir: str | Path | None = None) -> dict[str, RegisteredModel]:
    """Every known model by name: built-ins first, then the user's. Raises ConfigError for a bad
    manifest or a user model that shadows a built-in."""
    cache = model_cache_dir(cache_dir)
    models = builtin_models(cache)
    for name, model in user_models(cache).items():
        if name in models:
            raise ConfigError(f"user model {name!r} has the name of a built-in model; rename the file",
                              file=str(model.manifest.path))
        models[name] = model
    return models


def find_model(name: str, cache_dir: str | Path | None = None) -> RegisteredModel:
    models = all_models(cache_dir)
    if name not in models:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(models)} (user models go in "
                          f"{user_models_dir(model_cache_dir(cache_dir))}/NAME.toml + NAME.onnx)",
                          field="model")
    return models[name]


def choose_model_for_aspect(width: int, height: int, candidates: dict[str, RegisteredModel]) -> str:
    """The candidate whose preferred aspect is closest to width:height (compared as ratios, so the
    switch between 1:1 and 16:9 falls at their geometric middle, 4:3; a tie keeps the first)."""
    import math
    aspect = math.log(width / height)
    return min(candidates, key=lambda n: abs(aspect - math.log(candidates[n].manifest.preferred_aspect)))
