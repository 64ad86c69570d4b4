"""The split graph that transport and tracing tests run in two processes, a free loopback port, and
reading the parts' run summaries (counters) and waiting on them.

Not for: the graphs' assertions; each test checks what it is about.
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

PORTRAITFLOW = [sys.executable, "-m", "portraitflow.cli.main"]
#: the CLI with the test node types of support/graph_nodes.py registered (t_slow, t_hoard, ...)
PORTRAITFLOW_WITH_TEST_NODES = [sys.executable, "-c",
                                ("import sys; sys.path.insert(0, sys.argv.pop(1)); import support.graph_nodes; "
                                 "from portraitflow.cli.main import main; sys.exit(main(sys.argv[1:]))"),
                                str(Path(__file__).resolve().parents[1])]

_GRAPH = """
[graph]
name = "split"
policy = "block"

[nodes.capture]
type = "sample_source"
part = "phone"
options = {{ frames = {frames} }}

[nodes.shrink]
type = "downscale"
part = "companion"
inputs = {{ frame = "capture.frame" }}
options = {{ max_width = 320, max_height = 180 }}

[nodes.output]
part = "companion"
inputs = {{ frame = "shrink.frame" }}
{output}
"""


def split_graph(frames: int, out: Path | None = None) -> str:
    """sample_source on the phone -> downscale -> a sink on the companion: PNGs into ``out``
    (``f_0000.png``, ...) or, without ``out``, a null sink."""
    if out is None:
        output = 'type = "null_sink"'
    else:
        output = f'type = "png_sink"\noptions = {{ path = "{out}/f_{{seq:04d}}.png" }}'
    return _GRAPH.format(frames=frames, output=output)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_part(graph: Path, part: str, *flags: str, command: list[str] = PORTRAITFLOW) -> subprocess.Popen:
    """`portraitflow run --graph GRAPH --part PART FLAGS...` in its own process, output captured."""
    return subprocess.Popen([*command, "run", "--graph", str(graph), "--part", part, *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    """Wait for a part; (exit code, stderr). A part still running after ``timeout`` is killed and fails
    the test with what it printed."""
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"part did not finish in {timeout} s:\n{err}")
    return process.returncode, err


def counter(summary: str, name: str) -> int:
    """The sum of every ``name=N`` in a run summary (one per node line that counts it)."""
    return sum(int(v) for v in re.findall(rf"\b{name}=(\d+)", summary))


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` every 50 ms until it holds; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
