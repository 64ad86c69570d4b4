"""The runner holds OpenCV at one thread while its node threads fill the cores, and gives the process its
own setting back when the graph ends (graph/opencv_threads.py)."""
from __future__ import annotations

import os

import cv2

from portraitflow.graph import Frame, Node, registry
from portraitflow.graph.runner import GraphRunner, run_graph
from portraitflow.graph.spec import GraphSpec

import support.graph_nodes  # noqa: F401  (registers t_count, t_collect)


class RecordOpenCVThreads(Node):
    """Passes frames on; remembers cv2.getNumThreads() as each process() call sees it."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}
    seen: list[int] = []

    def process(self, ctx):
        RecordOpenCVThreads.seen.append(cv2.getNumThreads())
        ctx.emit("frame", ctx.inputs["frame"])


registry.register("t_opencv_threads", RecordOpenCVThreads)


def graph(stages: int, frames: int = 5, fps: float = 0.0) -> GraphSpec:
    spec = GraphSpec(name="cv-threads").add("src", "t_count", frames=frames, fps=fps)
    previous = "src.frame"
    for i in range(stages):
        spec.add(f"rec{i}", "t_opencv_threads").connect(previous, f"rec{i}.frame")
        previous = f"rec{i}.frame"
    return spec.add("sink", "t_collect", key="cv-threads").connect(previous, "sink.frame")


def test_node_threads_filling_the_cores_run_opencv_single_threaded_and_restore_it():
    cores = len(os.sched_getaffinity(0))
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        RecordOpenCVThreads.seen = []
        stats = run_graph(graph(stages=max(1, cores)))   # source + stages + sink > cores
        assert stats.frames_out() == 5
        assert RecordOpenCVThreads.seen and set(RecordOpenCVThreads.seen) == {1}
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)


def test_two_graphs_at_once_restore_only_after_the_last():
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        first = GraphRunner(graph(stages=2)).start()
        second = GraphRunner(graph(stages=2, frames=1_000_000, fps=50.0)).start()   # runs until stopped
        assert first.wait(30)
        assert first.wait(30)                  # a second wait() releases nothing twice
        assert second.running and cv2.getNumThreads() == 1
        second.stop()
        assert second.wait(30)
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)
