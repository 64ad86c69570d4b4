"""What the graph runner itself costs per frame (issue 17): the same nodes called in sequence on one thread
vs run by the graph runner (a thread per node, bounded streams), on one core, or on two at a live frame rate.
Prints; asserts nothing.

Not for: per-node or per-recipe costs (bench/chain.py) or tests (no timing is ever asserted). Run:
    python bench/runner.py [--frames 150] [--rounds 5] [--chains blur,trivial]    # one core, unpaced
    python bench/runner.py --cores 2 --fps 30                                      # live 30 fps, 2 cores
Per frame, from resource.getrusage(RUSAGE_SELF) (every thread of the process): user ms, system ms, minor
page faults, voluntary and involuntary context switches, in steady state: a run of every frame minus a run
of the first third, each with freshly opened nodes (open() not counted), so start-up and the end cancel;
runner = graph minus sequence. Everything runs in a child pinned to core 0 (``--cores 2``: both) with one
OpenCV thread (onnxruntime intra_op_num_threads=1, the segment node's default); rounds alternate sequence
and graph; medians over the rounds. Live (``--fps``): the sequence processes each frame when it falls due
and sleeps to the next, the graph's source is paced the same way (its edges drop stale frames).
Chains: ``blur`` (the blur recipe on the sample source's 1280x720 frames held in memory, a fresh copy
per frame as a decoder makes) and ``trivial`` (the same graph shape with nodes that do nothing but pass
the packet on and pair: what the runner costs when node work cannot hide it).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chain as chain_bench

FIELDS = ("user_ms", "sys_ms", "minflt", "nvcsw", "nivcsw")
#: getrusage snapshots: the first frame's (taken by the source) and the run's end
FIRST_FRAME: list[resource.struct_rusage] = []
#: live runs: frames a run did not deliver (the edges drop stale frames when a stage falls behind)
DROPPED: list[int] = []


def usage() -> resource.struct_rusage:
    return resource.getrusage(resource.RUSAGE_SELF)


def per_frame(before: resource.struct_rusage, after: resource.struct_rusage, frames: int) -> dict[str, float]:
    return {"user_ms": (after.ru_utime - before.ru_utime) * 1000 / frames,
            "sys_ms": (after.ru_stime - before.ru_stime) * 1000 / frames,
            "minflt": (after.ru_minflt - before.ru_minflt) / frames,
            "nvcsw": (after.ru_nvcsw - before.ru_nvcsw) / frames,
            "nivcsw": (after.ru_nivcsw - before.ru_nivcsw) / frames}


# -- the graphs ---------------------------------------------------------------------------------------
def register_nodes(frames: np.ndarray) -> None:
    """The memory source (rusage at its first frame) and the trivial chain's do-nothing nodes."""
    from portraitflow.devices.pacing import SourceClock
    from portraitflow.graph import EndOfStream, Frame, Mask, Node, Pairing, registry

    class RusageMemorySource(Node):
        """The bench's frames in order, a fresh copy each (as a decoder makes), as fast as taken or, live,
        paced at fps like a camera (its edges then drop stale frames, as a live run's do)."""
        outputs = {"frame": Frame}

        @dataclass(frozen=True)
        class Options:
            frames: int = 0       # 0: every frame held
            fps: float = 0.0      # > 0: live, paced

        @classmethod
        def live_for(cls, options) -> bool:
            return options.fps > 0

        def open(self, ctx) -> None:
            self._index = 0
            self._count = self.options.frames or len(frames)
            self._clock = SourceClock(self.options.fps, realtime=self.options.fps > 0)

        def process(self, ctx) -> None:
            i = self._index
            if i >= self._count:
                raise EndOfStream
            self._clock.wait_frame(i)
            if i == 0:
                FIRST_FRAME.append(usage())
            ctx.emit("frame", ctx.new_packet(frames[i].copy(), capture_ts_ns=self._clock.stamp(),
                                             meta={"frame_index": i}))
            self._index = i + 1

    class PassFrame(Node):
        """in: frame   out: frame (the same payload, metadata added, as a node's derive does)"""
        inputs = {"frame": Frame}
        outputs = {"frame": Frame}

        def process(self, ctx) -> None:
            packet = ctx.inputs["frame"]
            ctx.emit("frame", packet.derive(packet.payload, stage=self.id))

    class TinyMask(Node):
        """in: frame   out: mask (one small preallocated mask: a model-size output costs nothing here)"""
        inputs = {"frame": Frame}
        outputs = {"mask": Mask}

        def open(self, ctx) -> None:
            self._mask = np.zeros((144, 256), np.float32)

        def process(self, ctx) -> None:
            ctx.emit("mask", ctx.inputs["frame"].derive(self._mask))

    class PairMask(Node):
        """in: mask (primary), frame   out: mask (pairing, as smooth does)"""
        inputs = {"mask": Mask, "frame": Frame}
        outputs = {"mask": Mask}
        pairing = Pairing(primary="mask", wait_ms=50.0, max_age_ms=100.0)

        def process(self, ctx) -> None:
            ctx.emit("mask", ctx.inputs["mask"])

    class PairFrame(Node):
        """in: frame (primary), mask   out: frame or mask (pairing, as fringe and composite do)"""
        inputs = {"frame": Frame, "mask": Mask}
        outputs = {"frame": Frame, "mask": Mask}
        pairing = Pairing(primary="frame", wait_ms=100.0, max_age_ms=250.0)

        def process(self, ctx) -> None:
            frame, mask = ctx.inputs["frame"], ctx.inputs["mask"]
            ctx.emit("frame", frame)
            if mask is not None:
                ctx.emit("mask", mask)

    for name, cls in (("bench_rusage_source", RusageMemorySource), ("bench_pass_frame", PassFrame),
                      ("bench_tiny_mask", TinyMask), ("bench_pair_mask", PairMask),
                      ("bench_pair_frame", PairFrame)):
        registry.register(name, cls)


def trivial_spec(frames: int = 0, fps: float = 0.0):
    """The blur recipe's shape (capture, downscale, segment, smooth, fringe, composite, sink), its
    edges and pairings, with nodes that do nothing."""
    from portraitflow.graph.spec import GraphSpec
    return (GraphSpec(name="trivial")
            .add("capture", "bench_rusage_source", frames=frames, fps=fps)
            .add("downscale", "bench_pass_frame")
            .add("segment", "bench_tiny_mask")
            .add("smooth", "bench_pair_mask")
            .add("fringe", "bench_pair_frame")
            .add("composite", "bench_pair_frame")
            .add("output", "null_sink")
            .connect("capture.frame", "downscale.frame")
            .connect("downscale.frame", "segment.frame")
            .connect("segment.mask", "smooth.mask")
            .connect("downscale.frame", "smooth.frame")
            .connect("smooth.mask", "fringe.mask")
            .connect("downscale.frame", "fringe.frame")
            .connect("fringe.mask", "composite.mask")
            .connect("capture.frame", "composite.frame")
            .connect("composite.frame", "output.frame"))


def graph_spec(name: str, frames: int = 0, fps: float = 0.0):
    if name == "trivial":
        return trivial_spec(frames, fps)
    return chain_bench.recipe_spec(name, {"frames": frames, "fps": fps}, source="bench_rusage_source")


class Sequence:
    """The graph's nodes between source and sink called one after another on this thread, with the
    graph's own wiring (no runner, no queues, no threads)."""

    def __init__(self, spec):
        from portraitflow.graph.node import Context
        from portraitflow.graph.validate import resolve
        graph = resolve(spec)
        self.nodes = [(rn, rn.instantiate()) for rn in graph.nodes if rn.cls.inputs and rn.cls.outputs]
        self.wiring: dict[str, dict[str, tuple[str, str]]] = {rn.id: {} for rn, _ in self.nodes}
        for edge in graph.edges:
            if edge.spec.target in self.wiring:
                self.wiring[edge.spec.target][edge.spec.target_port] = (edge.spec.source, edge.spec.source_port)
        self.emitted: dict[tuple[str, str], object] = {}
        self.contexts = {}
        for rn, node in self.nodes:
            ctx = Context(rn.id, lambda port, packet, nid=rn.id: self.emitted.__setitem__((nid, port), packet))
            self.contexts[rn.id] = ctx
            node.open(ctx)
        self.source_ctx = Context("capture", lambda port, packet: None)

    def __call__(self, frame: np.ndarray, index: int) -> None:
        self.emitted.clear()
        self.emitted[("capture", "frame")] = self.source_ctx.new_packet(frame, meta={"frame_index": index})
        for rn, node in self.nodes:
            ctx = self.contexts[rn.id]
            ctx.inputs = {port: self.emitted.get(src) for port, src in self.wiring[rn.id].items()}
            node.process(ctx)

    def close(self) -> None:
        for rn, node in self.nodes:
            node.close(self.contexts[rn.id])


def delta(before: resource.struct_rusage, after: resource.struct_rusage) -> resource.struct_rusage:
    """getrusage's fields as after - before (a struct_rusage, so per_frame takes two of them)."""
    return resource.struct_rusage(tuple(a - b for a, b in zip(after, before)))


def run_sequence(name: str, frames: np.ndarray, count: int, fps: float) -> resource.struct_rusage:
    """What ``count`` frames cost with the nodes called in sequence (freshly opened; open() not counted),
    each frame as it falls due when ``fps`` > 0 (a live loop: process, then sleep to the next frame)."""
    from portraitflow.devices.pacing import SourceClock
    sequence = Sequence(graph_spec(name))
    clock = SourceClock(fps, realtime=fps > 0)
    before = usage()
    for i in range(count):
        clock.wait_frame(i)
        sequence(frames[i].copy(), i)          # a fresh frame, as the source emits
    used = delta(before, usage())
    sequence.close()
    return used


def run_graph_usage(name: str, count: int, fps: float) -> resource.struct_rusage:
    """What ``count`` frames cost through the graph runner, from the source's first frame to the end
    (live: frames the graph dropped count as frames too; the run says how many, DROPPED)."""
    from portraitflow.graph.runner import run_graph
    FIRST_FRAME.clear()
    stats = run_graph(graph_spec(name, count, fps))
    if stats.frames_out() != count:
        if not fps:
            raise SystemExit(f"{name}: {stats.frames_out()} of {count} frames came out")
        DROPPED.append(count - stats.frames_out())
    return delta(FIRST_FRAME[0], usage())


# -- the child: the measuring process ------------------------------------------------------------------------------
def child(args) -> dict:
    import cv2

    from portraitflow.graph.runner import run_graph
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:args.cores]))
    cv2.setNumThreads(1)     # what the runner holds OpenCV at when its threads fill the cores
    frames = chain_bench.make_frames(args.frames, None)
    register_nodes(frames)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    for name in args.chains:                     # warm-up, both ways: the process's first allocations, caches
        sequence = Sequence(graph_spec(name))
        for i, frame in enumerate(frames[:10]):
            sequence(frame.copy(), i)
        sequence.close()
        run_graph(graph_spec(name))
    rounds: dict[str, dict[str, list[dict]]] = {name: {"seq": [], "graph": []} for name in args.chains}
    short = len(frames) // 3
    for _ in range(args.rounds):
        for name in args.chains:
            # steady state: a run of every frame minus a run of the first third, freshly opened nodes both
            # times (open() not measured), so start-up (a node's first frames: plates, the model's first
            # runs, ~40-60 ms for blur; the heap growing to the frames in flight) and the drain at the end
            # cancel: what is left is what a frame costs in a long run
            seq = {n: run_sequence(name, frames, n, args.fps) for n in (short, len(frames))}
            rounds[name]["seq"].append(per_frame(seq[short], seq[len(frames)], len(frames) - short))
            graph = {n: run_graph_usage(name, n, args.fps) for n in (short, len(frames))}
            rounds[name]["graph"].append(per_frame(graph[short], graph[len(frames)], len(frames) - short))
    return {"dropped": DROPPED, "chains": {name: {mode: {f: statistics.median(r[f] for r in runs) for f in FIELDS}
                   | {"user_range": [min(r["user_ms"] for r in runs), max(r["user_ms"] for r in runs)]}
                   for mode, runs in r.items()} for name, r in rounds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chains", default="blur,trivial", help="recipes, and 'trivial' (do-nothing nodes)")
    parser.add_argument("--cores", type=int, default=1, help="cores to run on (default 1: core 0)")
    parser.add_argument("--fps", type=float, default=0.0,
                        help="> 0: live, frames paced at this rate both ways (default: as fast as taken)")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="sys.setswitchinterval(S) in the measured process (default: Python's 0.005)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.chains = args.chains.split(",")
    if args.child:
        print(json.dumps(child(args)))
        return
    cmd = [sys.executable, __file__, "--child", "--frames", str(args.frames), "--rounds", str(args.rounds),
           "--chains", ",".join(args.chains), "--switch-interval", str(args.switch_interval),
           "--cores", str(args.cores), "--fps", str(args.fps)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"bench child failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    result = report["chains"]
    where = "one core (core 0, " if args.cores == 1 else f"{args.cores} cores ("
    pace = f"live, paced at {args.fps:g} fps both ways" if args.fps else "unpaced"
    print(f"bench/runner.py: {args.frames} frames 1280x720 (sample source) held in memory, {pace}, {where}"
          f"cv2.setNumThreads(1)), per frame in steady state from getrusage, medians of {args.rounds} alternating rounds; "
          f"measured on a shared, loaded 2-core machine")
    print(f"{'chain':<9}{'mode':<9}{'user ms':>9}{'sys ms':>8}{'CPU ms':>8}{'faults':>8}{'vol cs':>8}"
          f"{'invol cs':>9}   user ms range")
    for name, modes in result.items():
        for mode in ("seq", "graph"):
            r = modes[mode]
            lo, hi = r["user_range"]
            print(f"{name:<9}{mode:<9}{r['user_ms']:9.3f}{r['sys_ms']:8.3f}{r['user_ms'] + r['sys_ms']:8.3f}"
                  f"{r['minflt']:8.1f}{r['nvcsw']:8.1f}{r['nivcsw']:9.1f}   [{lo:.3f}-{hi:.3f}]")
        s, g = modes["seq"], modes["graph"]
        print(f"{name:<9}{'runner':<9}{g['user_ms'] - s['user_ms']:+9.3f}{g['sys_ms'] - s['sys_ms']:+8.3f}"
              f"{g['user_ms'] + g['sys_ms'] - s['user_ms'] - s['sys_ms']:+8.3f}{g['minflt'] - s['minflt']:+8.1f}"
              f"{g['nvcsw'] - s['nvcsw']:+8.1f}{g['nivcsw'] - s['nivcsw']:+9.1f}")
    if report["dropped"]:
        print(f"graph runs that dropped frames (live edges drop stale ones): {report['dropped']}")
    print("(seq: the nodes called in sequence on one thread; graph: the same graph through the graph runner, "
          "source and null sink included; runner = graph - seq. Faults: minor page faults; cs: context switches)")


if __name__ == "__main__":
    main()
