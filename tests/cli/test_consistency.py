"""The command line behaves the same everywhere: bad numbers are refused in one line naming the flag,
--set reaches --graph runs (look settings and NODE.OPTION) and refuses what it does not know, and a web
preview alone writes no file. Real processes, the real model, real files."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from support.paths import PARITY


def portraitflow(*argv: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portraitflow", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def assert_one_line_error(run: subprocess.CompletedProcess, *expected: str) -> None:
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize("argv, expected", [
    (["run", "--max-frames", "-5"], ["--max-frames", "expected an integer >= 1, got -5"]),
    (["run", "--max-frames", "0"], ["--max-frames", "got 0"]),
    (["run", "--max-frames", "many"], ["--max-frames", "'many'"]),
    (["run", "--port", "-1"], ["--port", "[0, 65535]"]),
    (["run", "--port", "65536"], ["--port", "[0, 65535]"]),
    (["run", "--size", "0x720"], ["--size", "[16, 8192]"]),
    (["run", "--size", "1280"], ["--size", "WIDTHxHEIGHT"]),
    (["run", "--max-size", "99999x10"], ["--max-size"]),
    (["run", "--size", "640x480", "--max-size", "640x480"], ["--max-size", "not allowed with"]),
    (["render", "x.png", "-o", "y.png", "--size", "big"], ["--size", "WIDTHxHEIGHT"]),
    (["eval", "--images", "a", "--masks", "b", "--tolerance", "0"], ["--tolerance", "a number > 0 and <= 100"]),
    (["eval", "--images", "a", "--masks", "b", "--worst", "-1"], ["--worst", "[1, 100]"]),
    (["mask", "x.png", "-o", "m", "--threads", "0"], ["--threads", "[1, 64]"]),
])
def test_bad_numeric_flags_are_refused_in_one_line(argv, expected, tmp_path: Path) -> None:
    run = portraitflow(*argv, cwd=tmp_path, timeout=60)
    assert run.returncode == 2
    assert_one_line_error(run, *expected)
    assert list(tmp_path.iterdir()) == []          # nothing was started, nothing written


def write_graph(tmp_path: Path, look: str | None = "stencil", frames: int = 3) -> Path:
    composite = (f'[nodes.composite]\ntype = "composite"\ninputs = {{ frame = "capture.frame", '
                 f'mask = "segment.mask" }}\noptions = {{ look = "{look}" }}\n') if look else ""
    feed = "composite.frame" if look else "capture.frame"
    graph = tmp_path / "graph.toml"
    graph.write_text(f'[nodes.capture]\ntype = "image_source"\n'
                     f'options = {{ path = "{PARITY / "astronaut_512.png"}", frames = {frames} }}\n'
                     f'[nodes.segment]\ntype = "segment"\ninputs = {{ frame = "capture.frame" }}\n'
                     f'{composite}'
                     f'[nodes.output]\ntype = "png_sink"\ninputs = {{ frame = "{feed}" }}\n'
                     f'options = {{ path = "{tmp_path}/out-{{seq:03d}}.png" }}\n')
    return graph


@pytest.mark.parametrize("sets, expected", [
    (["totally_bogus=1"], ["--set totally_bogus", "unknown setting 'totally_bogus'", "stencil"]),
    (["nowhere.threads=1"], ["--set nowhere.threads", "unknown node 'nowhere'", "segment"]),
    (["segment.bogus=1"], ["--set segment.bogus", "unknown option 'bogus'", "threads"]),
    (["segment.threads=0"], ["segment", "threads"]),
    (["spray=7"], ["spray"]),
])
def test_set_on_a_graph_refuses_what_it_does_not_know(sets, expected, tmp_path: Path) -> None:
    graph = write_graph(tmp_path)
    argv = ["run", "--graph", str(graph)]
    for pair in sets:
        argv += ["--set", pair]
    run = portraitflow(*argv, timeout=120)
    assert run.returncode == 2
    assert_one_line_error(run, str(graph), *expected)
    assert not list(tmp_path.glob("out-*.png"))


def test_set_look_key_on_a_graph_without_composite_says_so(tmp_path: Path) -> None:
    graph = write_graph(tmp_path, look=None)
    run = portraitflow("run", "--graph", str(graph), "--set", "title=HOPE", timeout=120)
    assert_one_line_error(run, "--set title", "no composite node", "NODE.OPTION")


def test_set_reaches_the_look_and_the_nodes_of_a_graph(tmp_path: Path) -> None:
    graph = write_graph(tmp_path, frames=3)
    plain = portraitflow("run", "--graph", str(graph), "--quiet", timeout=120)
    assert plain.returncode == 0, plain.stderr
    untitled = cv2.imread(str(tmp_path / "out-000.png"))
    for path in tmp_path.glob("out-*.png"):
        path.unlink()
    run = portraitflow("run", "--graph", str(graph), "--quiet", "--set", "title=MY FILM",
                       "--set", "capture.frames=2", timeout=120)
    assert run.returncode == 0, run.stderr
    written = sorted(tmp_path.glob("out-*.png"))
    assert [p.name for p in written] == ["out-000.png", "out-001.png"]     # capture.frames=2 applied
    titled = cv2.imread(str(written[0]))
    band = int(titled.shape[0] * 0.84)
    changed = np.abs(titled.astype(np.int16) - untitled.astype(np.int16)).max(axis=2) > 0
    assert changed[band:].mean() > 0.5 and not changed[:band - 1].any()   # the caption, and only it


def test_set_node_option_on_a_recipe_run_changes_the_node(tmp_path: Path) -> None:
    source = PARITY / "astronaut_512.png"
    runs = {}
    for name, extra in (("soft", []), ("halftone", ["--set", "fringe.style=halftone"])):
        out = tmp_path / f"{name}.png"
        run = portraitflow("render", str(source), "--recipe", "replace", "-o", str(out), *extra)
        assert run.returncode == 0, run.stderr
        runs[name] = cv2.imread(str(out)).astype(np.int16)
    assert np.abs(runs["soft"] - runs["halftone"]).mean() > 1.0


def test_preview_web_alone_writes_no_file(tmp_path: Path) -> None:
    run = portraitflow("run", "--preview", "web", "--port", "0", "--max-frames", "8", timeout=120,
                       cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert re.search(r"preview: http://127\.0\.0\.1:\d+", run.stderr)
    assert list(tmp_path.iterdir()) == []
    assert "wrote" not in run.stdout


def test_preview_web_with_an_output_writes_it(tmp_path: Path) -> None:
    run = portraitflow("run", "--preview", "web", "--port", "0", "--max-frames", "8",
                       "--output", "kept.mp4", "--quiet", timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["kept.mp4"]
    with av.open(str(tmp_path / "kept.mp4")) as container:   # live (the preview paces the source):
        assert 1 <= sum(1 for _ in container.decode(video=0)) <= 8   # a slow encoder may drop, counted
