"""CPU cost of the whole chain (issue 17): per-node and whole-chain CPU ms per 720p frame on one core for
every recipe, beside MediaPipe's own segmentation when another interpreter has it; CPU % at a live 30 fps
(720p, 1080p); frames/s unpaced on 2 cores; the graph runner's own cost per frame. Prints; asserts nothing.

Not for: tests (no timing is ever asserted). Run:
    python bench/chain.py [--frames 150] [--rounds 5] [--recipes blur,poster] [--mediapipe-python PATH]
CPU time, not wall time (the machine is shared): per node time.thread_time_ns around process(), per run
time.process_time() (user+sys, all threads) of the child process from its first frame on. One-core
figures run in a child pinned to core 0 with one OpenCV thread and onnxruntime intra_op_num_threads=1
(the segment node's default); rounds alternate between the chain and MediaPipe (and between the nodes
called in sequence and the graph runner), medians over the rounds. Live figures: 2 cores, paced at 30 fps.
Frames: the sample source's 1280x720 frames made and held in memory first (``--clip FILE`` decodes a video
instead, scaled to 1280x720), so decoding is not part of any figure.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHAIN_NODES = ("downscale", "segment", "smooth", "fringe", "background", "composite")

# MediaPipe in another interpreter: one persistent process, pinned to core 0, answering "round" lines
# with the CPU ms per frame of SelfieSegmentation(model_selection=1).process() over every frame
MEDIAPIPE_CHILD = textwrap.dedent("""
    import os, sys, time, json
    import numpy as np
    os.sched_setaffinity(0, {0})
    import cv2
    cv2.setNumThreads(1)
    import mediapipe as mp
    frames = np.load(sys.argv[1])
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
    for f in rgb[:10]:
        seg.process(f)
    print("ready", flush=True)
    for line in sys.stdin:
        times = []
        for f in rgb:
            start = time.process_time_ns()
            out = seg.process(f).segmentation_mask
            times.append(time.process_time_ns() - start)
        print(json.dumps({"ms": [t / 1e6 for t in times], "mask": list(out.shape)}), flush=True)
""")


class MediaPipeChild:
    """MEDIAPIPE_CHILD running in ``python`` (an interpreter with mediapipe) on ``frames``: each round_ms()
    is the median CPU ms a frame of one pass over them, taken while this process waits."""

    def __init__(self, python: str, frames: np.ndarray, tmp: str):
        npy = Path(tmp) / "frames.npy"
        np.save(npy, frames)
        script = Path(tmp) / "mediapipe_child.py"
        script.write_text(MEDIAPIPE_CHILD)
        self.proc = subprocess.Popen([python, str(script), str(npy)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("MediaPipe child did not start")

    def round_ms(self) -> float:
        self.proc.stdin.write("round\n")
        self.proc.stdin.flush()
        return statistics.median(json.loads(self.proc.stdout.readline())["ms"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


# The pipeline users write themselves, in another interpreter with mediapipe (what Linux-Fake-Background-
# Webcam's compose_frame does with its defaults): MediaPipe's mask, dilated 5x5 and box-blurred 10x10, a
# 21x21 Gaussian of the frame as the background, the two mixed per channel in numpy; paced at 30 fps on
# 2 cores like the live graph runs; whole-process CPU from the first frame on, like child_graph
TUTORIAL_CHILD = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    import cv2
    import mediapipe as mp
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
    frames = np.load(sys.argv[1])
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
    seg.process(cv2.cvtColor(frames[0], cv2.COLOR_BGR2RGB))
    kernel = np.ones((5, 5), np.uint8)
    start_cpu, start = time.process_time(), time.monotonic()
    count = int(sys.argv[2])
    for i in range(count):
        captured = frames[i % len(frames)]
        delay = start + i / 30.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        frame = captured.copy()
        mask = seg.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).segmentation_mask
        mask = cv2.blur(cv2.dilate(mask, kernel, iterations=1), (10, 10))
        background = cv2.GaussianBlur(frame, (21, 21), 0)
        for c in range(3):
            frame[:, :, c] = frame[:, :, c] * mask + background[:, :, c] * (1 - mask)
    cpu, wall = time.process_time() - start_cpu, time.monotonic() - start
    print(json.dumps({"cpu_percent": 100 * cpu / wall, "cpu_ms": 1000 * cpu / count, "fps": count / wall}))
""")


def make_frames(count: int, clip: str | None, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """``count`` uint8 BGR frames of ``size`` in one array: the sample source's, or a clip's scaled."""
    import cv2

    from portraitflow.graph.node import Context
    frames: list[np.ndarray] = []
    if clip:
        import av
        with av.open(clip) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="bgr24"))
                if len(frames) >= count:
                    break
    else:
        from portraitflow.devices.sample_source import SampleSource
        from portraitflow.graph.options import build_options
        source = SampleSource("capture", build_options(SampleSource.Options, {"frames": count}))
        ctx = Context("capture", lambda port, packet: frames.append(packet.payload))
        source.open(ctx)
        for _ in range(count):
            source.process(ctx)
    out = np.empty((len(frames), size[1], size[0], 3), np.uint8)
    for i, frame in enumerate(frames):
        if frame.shape[:2] == (size[1], size[0]):
            out[i] = frame
        else:
            cv2.resize(frame, size, dst=out[i], interpolation=cv2.INTER_CUBIC)
    return out


# -- a source of frames held in memory, for runs through the graph runner -----------------------------
#: process CPU seconds when the memory source emitted its first frame (so node open(), model loading
#: included, stays out of the per-frame figure)
FIRST_FRAME_CPU_S: list[float] = []
#: frames the one-core table leaves out of a graph run's figure, as the chain in sequence is warmed up
#: with as many first: the first composites build plates, sessions warm up (process CPU at that frame)
WARM_FRAMES = 10
WARM_CPU_S: list[float] = []


def register_memory_source(frames: np.ndarray, type_name: str = "bench_memory_source") -> None:
    from portraitflow.devices.pacing import SourceClock
    from portraitflow.graph import EndOfStream, Frame, Node, registry

    class MemorySource(Node):
        """Emits the bench's frames in order (a fresh array each, as a decoder would), paced at fps
        when realtime."""
        outputs = {"frame": Frame}

        @dataclass(frozen=True)
        class Options:
            fps: float = 30.0
            realtime: bool = False

        @property
        def live(self) -> bool:
            return self.options.realtime

        def open(self, ctx) -> None:
            self._clock = SourceClock(self.options.fps, self.options.realtime)
            self._index = 0

        def process(self, ctx) -> None:
            i = self._index
            if i >= len(frames):
                raise EndOfStream
            self._clock.wait_frame(i)
            if i == 0:
                FIRST_FRAME_CPU_S.extend((cpu_s(), time.monotonic()))
            if i == WARM_FRAMES:
                WARM_CPU_S.append(cpu_s())
            ctx.emit("frame", ctx.new_packet(frames[i].copy(), capture_ts_ns=self._clock.stamp(),
                                             meta={"frame_index": i}))
            self._index = i + 1

    registry.register(type_name, MemorySource)


def recipe_spec(recipe: str, extra: dict | None = None, node_options: dict | None = None,
                source: str = "bench_memory_source"):
    from portraitflow.recipes.loader import load_recipe, recipe_graph
    spec = recipe_graph(load_recipe(recipe), source=(source, dict(extra or {})), sink=("null_sink", {}))
    for node_id, options in (node_options or {}).items():
        spec.nodes[node_id].options.update(options)
    return spec


def still_scene(frames: np.ndarray, seed: int = 1) -> np.ndarray:
    """The first frame again and again with fresh sensor noise (sigma 2 levels): a still scene."""
    import cv2
    rng = np.random.default_rng(seed)
    out = np.empty_like(frames)
    for i in range(len(frames)):
        out[i] = cv2.add(frames[0], rng.normal(0, 2.0, frames[0].shape).astype(np.int16), dtype=cv2.CV_8U)
    return out


def table_rows(recipes: list[str]) -> list[tuple[str, str, dict, bool]]:
    """(label, recipe, node options, still scene) for the one-core table: every recipe on the sample (the
    defaults: adaptive work on), then the blur chain with both models on every frame (segment.still_every=1,
    gate_every=1: the defaults before issue 17), on the sample and on a still scene, then every other
    recipe on the still scene; and the blur chain with the gate carried through motion (segment.gate_carry
    "follow", what a CPU budget turns on first)."""
    rows = [(r, r, {}, False) for r in recipes]
    if "blur" in recipes:
        every = {"segment": {"still_every": 1, "gate_every": 1}}
        rows += [("blur, gate follows", "blur", {"segment": {"gate_carry": "follow"}}, False),
                 ("blur, every frame", "blur", every, False), ("blur, still scene", "blur", {}, True),
                 ("  , every frame", "blur", every, True)]
    rows += [(f"{r}, still scene", r, {}, True) for r in recipes if r != "blur"]   # what reuse saves
    return rows


class SequentialChain:
    """The recipe's nodes called one after the other on this thread, each frame through every node
    (the graph's own wiring, no runner, no queues): what the chain costs with no threads at all."""

    def __init__(self, recipe: str, node_options: dict | None = None):
        from portraitflow.graph.node import Context
        from portraitflow.graph.validate import resolve
        graph = resolve(recipe_spec(recipe, node_options=node_options))
        self.nodes = [(rn, rn.instantiate()) for rn in graph.nodes if rn.cls.inputs and rn.cls.outputs]
        self.wiring = {rn.id: {} for rn, _ in self.nodes}
        for edge in graph.edges:
            e = edge.spec
            if e.target in self.wiring:
                self.wiring[e.target][e.target_port] = (e.source, e.source_port)
        self.contexts = {}
        self._emitted: dict[tuple[str, str], object] = {}
        for rn, node in self.nodes:
            ctx = Context(rn.id, lambda port, packet, nid=rn.id: self._emitted.__setitem__((nid, port), packet))
            self.contexts[rn.id] = ctx
            node.open(ctx)
        self.seq = 0

    def __call__(self, frame: np.ndarray, node_ns: dict[str, list[int]]) -> None:
        from portraitflow.graph.packet import Packet
        self._emitted.clear()
        self._emitted[("capture", "frame")] = Packet(frame, time.monotonic_ns(), self.seq, {"frame_index": self.seq})
        self.seq += 1
        for rn, node in self.nodes:
            ctx = self.contexts[rn.id]
            ctx.inputs = {port: self._emitted.get(src) for port, src in self.wiring[rn.id].items()}
            start = time.thread_time_ns()
            node.process(ctx)
            node_ns.setdefault(rn.id, []).append(time.thread_time_ns() - start)

    def counters(self) -> dict[str, dict[str, int]]:
        return {nid: dict(ctx.counters) for nid, ctx in self.contexts.items() if ctx.counters}


def cpu_s() -> float:
    """This process's CPU seconds, user + system, every thread (finer-grained than os.times)."""
    return time.process_time()


def pin(cores: int, opencv_threads: int | None = 1) -> None:
    """Run on the first ``cores`` cores; ``opencv_threads`` None leaves OpenCV's own default (its pool)."""
    import cv2
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    if opencv_threads is not None:
        cv2.setNumThreads(opencv_threads)


# -- child modes ----------------------------------------------------------------------------------------
def child_one_core(args, frames: np.ndarray) -> dict:
    """Per-node CPU per frame, sequence vs graph runner, MediaPipe, alternating rounds, on core 0."""
    from portraitflow.graph.runner import run_graph
    pin(1)
    register_memory_source(frames)
    mediapipe = MediaPipeChild(args.mediapipe_python, frames, args.tmp) if args.mediapipe_python else None
    still = still_scene(frames)
    register_memory_source(still, "bench_still_source")
    rows = table_rows(args.recipes)
    chains = {label: SequentialChain(recipe, options) for label, recipe, options, _ in rows}
    for label, chain in chains.items():   # warm-up: first composites build plates, sessions load
        for f in frames[:10]:
            chain(f, {})
    rounds: dict = {label: {"node": [], "seq_cpu": [], "graph_cpu": []} for label in chains}
    mp_rounds: list[float] = []
    counters = {}
    for _ in range(args.rounds):
        for recipe, (label, recipe_name, options, is_still) in zip(chains, rows):
            chain = chains[label]
            node_ns: dict[str, list[int]] = {}
            before = cpu_s()
            for f in (still if is_still else frames):
                chain(f.copy(), node_ns)   # a fresh frame, as the memory source emits
            rounds[recipe]["seq_cpu"].append((cpu_s() - before) * 1000 / len(frames))
            # mean, not median: a node that skips work on some frames costs its average
            rounds[recipe]["node"].append({k: sum(v) / len(v) / 1e6 for k, v in node_ns.items()})
            counters[recipe] = chain.counters()
            FIRST_FRAME_CPU_S.clear()
            WARM_CPU_S.clear()
            stats = run_graph(recipe_spec(recipe_name, node_options=options,
                                          source="bench_still_source" if is_still else "bench_memory_source"))
            # from the WARM_FRAMES-th frame on, like the warmed-up chain in sequence (frames in flight
            # then are few against the 140 after them)
            rounds[recipe]["graph_cpu"].append((cpu_s() - WARM_CPU_S[0]) * 1000
                                               / max(stats.frames_out() - WARM_FRAMES, 1))
            if mediapipe is not None:   # alternate: MediaPipe right after each recipe's round
                mp_rounds.append(mediapipe.round_ms())
    if mediapipe is not None:
        mediapipe.close()
    result = {"recipes": {}, "mediapipe_ms": statistics.median(mp_rounds) if mp_rounds else None,
              "mediapipe_range": [min(mp_rounds), max(mp_rounds)] if mp_rounds else None}
    for recipe, r in rounds.items():
        nodes = {k: statistics.median([rnd.get(k, 0.0) for rnd in r["node"]]) for k in r["node"][0]}
        result["recipes"][recipe] = {"node_ms": nodes, "chain_ms": sum(nodes.values()),
                                     "seq_cpu_ms": statistics.median(r["seq_cpu"]),
                                     "graph_cpu_ms": statistics.median(r["graph_cpu"]),
                                     "seq_range": [min(r["seq_cpu"]), max(r["seq_cpu"])],
                                     "graph_range": [min(r["graph_cpu"]), max(r["graph_cpu"])],
                                     "counters": counters.get(recipe, {})}
    return result


def child_graph(args, frames: np.ndarray, cores: int, realtime: bool, extra: dict,
                opencv_threads: int | None = None) -> dict:
    """One graph run on ``cores`` cores: CPU % of one core, frames/s, latency, drops. ``opencv_threads``
    None: whatever the runner does (as `portraitflow run`)."""
    from portraitflow.graph.runner import run_graph
    pin(cores, None)
    if opencv_threads is not None:   # the OpenCV pool at this size, whatever the runner would choose
        import cv2
        try:
            from portraitflow.graph import opencv_threads as runner_threads
            runner_threads.hold_single_threaded = lambda node_threads: False
        except ImportError:   # an older tree: the runner leaves OpenCV alone
            pass
        cv2.setNumThreads(opencv_threads)
    register_memory_source(frames)
    spec = recipe_spec(args.recipes[0], {"realtime": realtime, "fps": 30.0})
    for node_id, options in extra.items():
        spec.nodes[node_id].options.update(options)
    import cv2
    seen: list[int] = []
    stats = run_graph(spec, on_start=lambda runner: seen.append(cv2.getNumThreads()))
    threads_at_start = f"{seen[0]}" + (" (the runner's choice)" if opencv_threads is None else "")
    cpu = cpu_s() - FIRST_FRAME_CPU_S[0]   # from the first frame on: model loading left out
    wall = time.monotonic() - FIRST_FRAME_CPU_S[1]
    out = stats.frames_out()
    return {"frames": out, "cpu_percent": 100 * cpu / wall, "cpu_ms": 1000 * cpu / max(out, 1),
            "fps": out / wall, "latency_p50_ms": stats.latency_ms(50),
            "latency_p99_ms": stats.latency_ms(99), "dropped": stats.dropped,
            "counters": {n.id: dict(n.counters) for n in stats.nodes.values() if n.counters},
            "opencv_threads": threads_at_start}


def run_child(args, mode: str, **kw) -> dict:
    cmd = [sys.executable, __file__, "--child", json.dumps({"mode": mode, **kw}), "--tmp", args.tmp,
           "--frames", str(args.frames), "--rounds", str(args.rounds), "--recipes", ",".join(args.recipes)]
    if args.clip:
        cmd += ["--clip", args.clip]
    if args.mediapipe_python and mode == "one_core":
        cmd += ["--mediapipe-python", args.mediapipe_python]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"bench child {mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tutorial_run(args, size: tuple[int, int], count: int) -> dict:
    """The tutorial pipeline (TUTORIAL_CHILD) on the same frames, in the MediaPipe interpreter."""
    npy = Path(args.tmp) / f"tutorial-{size[0]}x{size[1]}.npy"
    np.save(npy, make_frames(min(count, args.frames), args.clip, size))   # looped: count frames in all
    script = Path(args.tmp) / "tutorial_child.py"
    script.write_text(TUTORIAL_CHILD)
    proc = subprocess.run([args.mediapipe_python, str(script), str(npy), str(count)], capture_output=True,
                          text=True)
    if proc.returncode:
        raise SystemExit(f"tutorial pipeline failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    from portraitflow.recipes.loader import list_recipes
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--recipes", default=",".join(list_recipes()))
    parser.add_argument("--clip", default=None, help="a video file instead of the sample's frames")
    parser.add_argument("--mediapipe-python", default=None,
                        help="an interpreter with mediapipe==0.10.14 (its segmentation alone, same frames)")
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument("--skip-live", action="store_true", help="only the one-core table")
    parser.add_argument("--skip-one-core", action="store_true", help="only the live and unpaced runs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.recipes = args.recipes.split(",")
    if args.child:
        job = json.loads(args.child)
        size = tuple(job.get("size", (1280, 720)))
        frames = make_frames(job.get("frames", args.frames), args.clip, size)
        if job["mode"] == "one_core":
            result = child_one_core(args, frames)
        else:
            result = child_graph(args, frames, job["cores"], job["realtime"], job.get("extra", {}),
                                 job.get("opencv_threads"))
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="pf-bench-chain-") as tmp:
        args.tmp = tmp
        print(f"bench/chain.py: {args.frames} frames 1280x720 ({args.clip or 'sample source'}) held in memory; "
              f"CPU time (thread_time per node, process_time per run), medians of {args.rounds} alternating rounds; "
              f"measured on a shared, loaded 2-core machine")
        if not args.skip_one_core:
            one = run_child(args, "one_core")
            mp_ms = one["mediapipe_ms"]
            print("\n== one core (taskset core 0, cv2.setNumThreads(1), onnxruntime intra_op_num_threads=1): "
                  "CPU ms per 720p frame ==")
            if mp_ms is None:
                print("MediaPipe: not measured (pass --mediapipe-python PATH to an interpreter with mediapipe)")
            else:
                lo, hi = one["mediapipe_range"]
                print(f"MediaPipe 0.10.14 SelfieSegmentation(model_selection=1).process() alone: {mp_ms:.2f} ms "
                      f"[{lo:.2f}-{hi:.2f}]")
            head = f"{'recipe':<28}" + "".join(f"{n:>11}" for n in CHAIN_NODES) + \
                f"{'chain':>8}{'seq CPU':>9}{'graph CPU':>10}{'runner':>8}" + ("  x MediaPipe" if mp_ms else "")
            print(head)
            for recipe, r in one["recipes"].items():
                cells = "".join(f"{r['node_ms'][n]:11.2f}" if n in r["node_ms"] else f"{'-':>11}" for n in CHAIN_NODES)
                runner = r["graph_cpu_ms"] - r["seq_cpu_ms"]
                ratio = f"  {r['seq_cpu_ms'] / mp_ms:5.2f}x" if mp_ms else ""
                print(f"{recipe:<28}{cells}{r['chain_ms']:8.2f}{r['seq_cpu_ms']:9.2f}{r['graph_cpu_ms']:10.2f}"
                      f"{runner:+8.2f}{ratio}")
                skipped = {k: v for c in r["counters"].values() for k, v in c.items()}
                if skipped:
                    print(f"{'':<28}counters: " + ", ".join(f"{k}={v}" for k, v in skipped.items()))
            print("(node columns: mean thread CPU per process(); chain: their sum; seq CPU / graph CPU: the "
                  "process's whole CPU per frame with the nodes called in sequence / through the graph runner "
                  "(source and null sink included; both after 10 warm-up frames); runner = graph - seq)")
        if args.skip_live:
            return
        recipe = args.recipes[0]
        live_frames = int(30 * args.live_seconds)
        print(f"\n== recipe {recipe}, graph runner, whole-process CPU (user+sys) ==")
        def line(r: dict) -> str:
            return (f"{r['cpu_percent']:5.1f}% CPU (of one core), {r['cpu_ms']:5.2f} CPU-ms/frame, {r['fps']:5.1f} fps, "
                    f"latency p50 {r['latency_p50_ms']:5.1f} p99 {r['latency_p99_ms']:6.1f} ms, dropped {r['dropped']}")
        for label, size in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
            for threads in (2, None):   # OpenCV's pool of 2 (before) vs the runner's choice (one thread)
                r = run_child(args, "graph", cores=2, realtime=True, size=size, frames=live_frames,
                              opencv_threads=threads)
                print(f"live 30 fps, {label}, 2 cores, OpenCV threads {r['opencv_threads']}: {line(r)}")
        from portraitflow.nodes.segment import Segment
        if hasattr(Segment.Options, "cpu_budget_percent"):   # (older trees: no budget)
            r = run_child(args, "graph", cores=2, realtime=True, size=(1280, 720), frames=live_frames,
                          extra={"segment": {"cpu_budget_percent": 25.0}})
            print(f"live 30 fps, 720p, 2 cores, --cpu-budget 25: {line(r)}\n"
                  f"    counters: {r['counters'].get('segment')}")
        if args.mediapipe_python:
            for label, size in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
                r = tutorial_run(args, size, live_frames)
                print(f"the tutorial pipeline (MediaPipe + OpenCV blur and blend in Python, LFBW-style), live 30 fps, "
                      f"{label}, 2 cores: {r['cpu_percent']:5.1f}% CPU, {r['cpu_ms']:5.2f} CPU-ms/frame, "
                      f"{r['fps']:5.1f} fps")
        r = run_child(args, "graph", cores=2, realtime=False, size=(1280, 720), frames=max(args.frames, 300))
        print(f"unpaced, 720p, 2 cores: {r['fps']:.1f} fps, {r['cpu_ms']:.2f} CPU-ms/frame, "
              f"{r['cpu_percent']:.0f}% CPU")

if __name__ == "__main__":
    main()
