"""Sinks that carry alpha, on a real clip through the real chain (sample source, real model, cutout
recipe): the alpha plane read back from each file (PyAV, ffprobe, OpenCV) is the mask the chain made,
within the codec's quantisation; sinks that cannot carry alpha say so once."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from portraitflow.devices.video_sink import VideoSink
from portraitflow.graph.runner import run_graph
from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.nodes.looks.blend import mask_to_alpha
from portraitflow.recipes.loader import load_recipe, recipe_graph

from support import graph_nodes  # noqa: F401  (registers t_collect)
from support.alpha_video import decode_bgra, probe, read_png_sequence

FRAMES = 12


@pytest.fixture(scope="module")
def cutout_run(tmp_path_factory, model_cache):
    """The cutout recipe on 12 frames of the moving sample clip, written at once to ProRes .movs (both
    encoders), a VP9 .webm, a QuickTime-Animation .mov and a PNG sequence, with the chain's own masks
    collected beside."""
    from support.graph_nodes import Collect
    out = tmp_path_factory.mktemp("alpha")   # seq/ is not made here: the PNG sink makes a sequence's folder
    spec = recipe_graph(load_recipe("cutout"), source=("sample_source", {"frames": FRAMES}),
                        sink=("video_sink", {"path": str(out / "cut.mov")}))
    spec.add("webm", "video_sink", path=str(out / "cut.webm"))
    spec.add("qtrle", "video_sink", path=str(out / "anim.mov"), codec="qtrle")
    spec.add("ks", "video_sink", path=str(out / "ks.mov"), codec="prores4444-ks")
    spec.add("seq", "png_sink", path=str(out / "seq" / "%05d.png"))
    spec.add("collect", "t_collect", key="alpha-outputs")
    for node in ("webm", "qtrle", "ks", "seq"):
        spec.connect("composite.frame", f"{node}.frame")
    spec.connect("composite.frame", "collect.frame")
    spec.connect("fringe.mask", "collect.mask")
    run_graph(spec)
    collected = Collect.received["alpha-outputs"]
    assert len(collected) == FRAMES and all(m is not None for _, m in collected)
    frames = [f.payload for f, _ in collected]
    masks = [m.payload for _, m in collected]
    return out, frames, masks


def _alpha_error(decoded: list[np.ndarray], masks: list[np.ndarray], *, edge_only: bool = False) -> float:
    """The worst frame's mean absolute alpha difference (over the whole frame, or the soft edge only)."""
    assert len(decoded) == len(masks)
    errors = []
    for d, m in zip(decoded, masks):
        expected = mask_to_alpha(m)
        where = (expected > 0) & (expected < 255) if edge_only else np.ones(expected.shape, bool)
        errors.append(np.abs(d[..., 3].astype(np.int16) - expected)[where].mean())
    return float(max(errors))


def test_the_chain_made_a_real_cut_out(cutout_run) -> None:
    _, frames, masks = cutout_run
    for frame, mask in zip(frames, masks):
        assert frame.shape == (720, 1280, 4)
        assert np.array_equal(frame[..., 3], mask_to_alpha(mask))
        assert 0.05 < (mask > 0.5).mean() < 0.8 and ((mask > 0.02) & (mask < 0.98)).sum() > 1000


@pytest.mark.parametrize("name, codec, pix_fmt, tolerance, edge_tolerance", [
    ("cut.mov", "prores", "yuva444p12le", 0.3, 2.0),   # prores (prores_aw): rounding only
    ("ks.mov", "prores", "yuva444p12le", 0.3, 2.0),    # prores_ks, 16-bit alpha plane
    ("anim.mov", "qtrle", "argb", 0.0, 0.0),            # lossless
    ("cut.webm", "vp9", "yuv420p", 1.0, 6.0),           # lossy VP9 alpha (ffprobe's native decoder shows none)
])
def test_each_alpha_file_holds_the_chains_mask(cutout_run, name: str, codec: str, pix_fmt: str,
                                               tolerance: float, edge_tolerance: float) -> None:
    out, frames, masks = cutout_run
    info = probe(out / name)
    assert (info["codec_name"], info["pix_fmt"], info["width"], info["height"]) == (codec, pix_fmt, 1280, 720)
    if codec == "prores":
        assert info["profile"] == "4444"
    if codec == "vp9":
        assert info["tags"]["alpha_mode"] == "1"   # the matroska flag that an alpha plane is stored
    decoded = decode_bgra(out / name)
    assert _alpha_error(decoded, masks) <= tolerance
    assert _alpha_error(decoded, masks, edge_only=True) <= edge_tolerance
    # the colour too, where the person is solid (all formats but VP9 keep it nearly exactly)
    colour_tolerance = 6.0 if codec == "vp9" else 2.0
    for d, f in zip(decoded, frames):
        solid = f[..., 3] == 255
        assert np.abs(d[..., :3].astype(np.int16) - f[..., :3])[solid].mean() < colour_tolerance


def test_png_sequence_is_the_chains_mask_exactly(cutout_run) -> None:
    out, frames, masks = cutout_run
    pngs = read_png_sequence(out / "seq")
    assert [p.name for p in sorted((out / "seq").glob("*.png"))][:2] == ["00000.png", "00001.png"]
    assert _alpha_error(pngs, masks) == 0.0
    assert all(np.array_equal(p, f) for p, f in zip(pngs, frames))
    assert probe(out / "seq" / "00000.png")["pix_fmt"] == "rgba"


def test_opaque_frames_still_make_h264_in_a_mov(tmp_path: Path) -> None:
    frames = [np.full((72, 128, 3), i * 20, np.uint8) for i in range(5)]
    run_node(make_node(VideoSink, {"path": str(tmp_path / "plain.mov")}, "out"), {"frame": packets(frames)})
    assert probe(tmp_path / "plain.mov")["codec_name"] == "h264"


def test_a_codec_the_container_cannot_hold_is_refused_by_name() -> None:
    from portraitflow.graph import ConfigError
    with pytest.raises((ConfigError, ValueError), match="prores4444.*mp4|codec"):
        make_node(VideoSink, {"path": "x.mp4", "codec": "prores4444"}, "out")


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portraitflow", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_transparent_replace_to_mov_keeps_alpha_and_mp4_warns_once(tmp_path: Path, model_cache) -> None:
    """The issue's command: it used to write the untouched frame with no word of warning."""
    done = _run_cli("run", "--recipe", "replace", "--set", "background=transparent", "--output", "cut.mov",
                    "--max-frames", "6", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot carry alpha" not in done.stderr
    info = probe(tmp_path / "cut.mov")
    assert (info["codec_name"], info["pix_fmt"]) == ("prores", "yuva444p12le")
    alpha = decode_bgra(tmp_path / "cut.mov")[0][..., 3]
    assert (alpha == 0).mean() > 0.2 and (alpha == 255).mean() > 0.05
    done = _run_cli("run", "--recipe", "cutout", "--output", "cut.mp4", "--max-frames", "6", "--quiet",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cannot carry alpha") == 1
    assert ".mov" in done.stderr and "--key-colour" in done.stderr


def test_a_stream_of_a_cut_out_warns_once_and_a_key_colour_silences_it(tmp_path: Path, model_cache) -> None:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:   # a free UDP port; nobody listens
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    url = f"udp://127.0.0.1:{port}"
    done = _run_cli("run", "--recipe", "cutout", "--output", url, "--max-frames", "8", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cannot carry alpha") == 1 and url in done.stderr
    keyed = _run_cli("run", "--recipe", "cutout", "--output", url, "--max-frames", "8", "--quiet",
                     "--key-colour", "blue", cwd=tmp_path)
    assert keyed.returncode == 0, keyed.stderr
    assert "cannot carry alpha" not in keyed.stderr
