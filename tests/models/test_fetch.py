"""Fetching the default models: pip on demand, offline errors, --from-wheel, cache validity.

Not for: the converter's values (test_tflite_to_onnx.py). Offline is simulated through pip's own
configuration (no index, empty find-links, no config file), in a real pip subprocess.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from portraitflow.cli.main import main
from portraitflow.graph.errors import ModelError
from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.models.fetch import ensure_model, fetch_models, is_cached
from portraitflow.models.registry import builtin_models
from portraitflow.nodes.segment import Segment


def offline_pip_env(tmp_path) -> dict[str, str]:
    empty = tmp_path / "no-wheels"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """This process and its pip subprocesses see no package index."""
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    for key, value in offline_pip_env(tmp_path).items():
        if key.startswith("PIP_"):
            monkeypatch.setenv(key, value)


def test_offline_with_an_empty_cache_says_what_to_run(tmp_path):
    env = offline_pip_env(tmp_path)
    env["PORTRAITFLOW_CACHE"] = str(tmp_path / "empty-cache")
    result = subprocess.run([sys.executable, "-m", "portraitflow", "models", "fetch"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == ModelError.exit_code
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("portraitflow models: error: could not download mediapipe==0.10.14")
    assert "`portraitflow models fetch`" in last and "--from-wheel PATH" in last
    assert not (tmp_path / "empty-cache" / "selfie_general.onnx").exists()


def test_the_segment_node_fetches_on_open_and_fails_clearly_offline(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("PORTRAITFLOW_CACHE", str(tmp_path / "cache"))
    node = make_node(Segment)
    with pytest.raises(ModelError, match="--from-wheel"):
        run_node(node, {"frame": packets([])})


def test_on_demand_fetch_fills_the_cache_and_later_runs_need_no_index(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    model = ensure_model("selfie_landscape", cache)  # real pip download of the pinned wheel
    assert model.onnx_path == cache / "selfie_landscape.onnx" and is_cached(model)
    assert is_cached(builtin_models(cache)["selfie_general"])  # one wheel: both models at once
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setattr(subprocess, "run", None)  # any pip call now would raise TypeError
    assert ensure_model("selfie_general", cache).onnx_path.is_file()
    assert fetch_models(cache_dir=cache) == [cache / "selfie_general.onnx", cache / "selfie_landscape.onnx"]


def test_from_wheel_works_without_any_index(tmp_path, mediapipe_wheel, offline, capsys):
    cache = tmp_path / "cache"
    assert main(["models", "fetch", "--cache-dir", str(cache), "--from-wheel", str(mediapipe_wheel),
                 "--model", "selfie_general"]) == 0
    assert f"ready: {cache / 'selfie_general.onnx'}" in capsys.readouterr().out
    models = builtin_models(cache)
    assert is_cached(models["selfie_general"]) and not models["selfie_landscape"].present
    assert main(["models", "list", "--cache-dir", str(cache)]) == 0
    listing = capsys.readouterr().out
    assert "selfie_general       built-in ready" in listing
    assert "selfie_landscape     built-in not fetched" in listing
    assert "'input_1' 256x144 NHWC RGB" in listing


def test_a_damaged_cached_model_is_rebuilt(tmp_path, mediapipe_wheel):
    cache = tmp_path / "cache"
    [path] = fetch_models(["selfie_general"], cache_dir=cache, from_wheel=mediapipe_wheel)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # e.g. a disk-full write by something else
    assert not is_cached(builtin_models(cache)["selfie_general"])
    fetch_models(["selfie_general"], cache_dir=cache, from_wheel=mediapipe_wheel)
    assert path.read_bytes() == good


def test_a_wheel_with_another_hash_is_refused(tmp_path):
    fake = tmp_path / "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite", b"not a model")
    with pytest.raises(ModelError, match="sha256 .* does not match the pinned mediapipe==0.10.14"):
        fetch_models(["selfie_general"], cache_dir=tmp_path / "cache", from_wheel=fake)
    assert not (tmp_path / "cache" / "selfie_general.onnx").exists()


def test_from_wheel_names_a_missing_file(tmp_path, capsys):
    assert main(["models", "fetch", "--cache-dir", str(tmp_path), "--from-wheel",
                 str(tmp_path / "nope.whl")]) == ModelError.exit_code
    assert "nope.whl" in capsys.readouterr().err
