"""Shared pytest fixtures: the model cache (both default models fetched and converted once per
session) and the pinned mediapipe wheel. Not for: helpers imported by tests (tests/support/).
"""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """The model cache ($PORTRAITFLOW_CACHE, else the user's cache) with both default models valid:
    fetched through pip and converted on the first run only; later runs just check the stamps."""
    from portraitflow.models.cache import model_cache_dir
    from portraitflow.models.fetch import fetch_models
    from portraitflow.models.registry import DEFAULT_MODELS

    cache = model_cache_dir()
    fetch_models(DEFAULT_MODELS, cache_dir=cache)
    return cache


@pytest.fixture(scope="session")
def mediapipe_wheel(tmp_path_factory) -> Path:
    """The pinned mediapipe wheel, downloaded once per session with pip (pip's own cache helps)."""
    from portraitflow.models.fetch import download_wheel
    from portraitflow.models.registry import builtin_models

    source = next(iter(builtin_models(Path("unused")).values())).manifest.source
    return download_wheel(source.wheel, tmp_path_factory.mktemp("wheel"))
