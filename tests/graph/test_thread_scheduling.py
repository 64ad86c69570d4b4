"""Node threads run under SCHED_BATCH (graph/thread_scheduling.py); the thread that runs the graph keeps
its own policy, and a thread a node starts inherits the node's."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from portraitflow.graph import Frame, Node, registry
from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec

import support.graph_nodes  # noqa: F401  (t_count, t_collect)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(os, "SCHED_BATCH"),
                                reason="Linux scheduling policies")

seen: dict[str, int] = {}


def policy() -> int:
    return os.sched_getscheduler(threading.get_native_id())


class RecordPolicy(Node):
    """Passes frames on; records its thread's policy, and that of a thread it starts in open()."""
    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    def open(self, ctx):
        helper = threading.Thread(target=lambda: seen.__setitem__("started_by_node", policy()))
        helper.start()
        helper.join()

    def process(self, ctx):
        seen["node"] = policy()
        ctx.emit("frame", ctx.inputs["frame"])


registry.register("t_record_policy", RecordPolicy)


def test_node_threads_are_batch_threads_and_the_callers_thread_is_left_alone():
    seen.clear()
    before = policy()
    spec = (GraphSpec(name="t").add("src", "t_count", frames=5).add("rec", "t_record_policy")
            .add("sink", "t_collect", key="policy").connect("src.frame", "rec.frame")
            .connect("rec.frame", "sink.frame"))
    stats = run_graph(spec)
    assert stats.nodes["sink"].processed == 5
    assert seen == {"node": os.SCHED_BATCH, "started_by_node": os.SCHED_BATCH}
    assert policy() == before          # the thread that ran the graph: its own policy still
