"""The threaded runtime: end of stream, BLOCK keeps everything, LATEST bounds latency, errors, pairing."""
from __future__ import annotations

import time

import pytest

from portraitflow.graph import NodeError
from portraitflow.graph.runner import GraphRunner, run_graph
from portraitflow.graph.spec import GraphSpec

from support.graph_nodes import Collect


def chain(frames=20, policy="auto", live=False, fps=0.0, slow=0.0, key="k", queue_size=2, mask_delay=0.0,
          skip_every=0, only_every=0, delayed_mask=False, holding_mask=False):
    mask = ("t_delayed_mask", {}) if delayed_mask else \
        ("t_holding_mask" if holding_mask else "t_mask",
         {"seconds": mask_delay, "skip_every": skip_every, "only_every": only_every})
    return (GraphSpec(name="t", policy=policy, queue_size=queue_size)
            .add("src", "t_count", frames=frames, live=live, fps=fps)
            .add("slow", "t_slow", seconds=slow)
            .add("mask", mask[0], **mask[1])
            .add("sink", "t_collect", key=key)
            .connect("src.frame", "slow.frame")
            .connect("slow.frame", "mask.frame")
            .connect("slow.frame", "sink.frame")
            .connect("mask.mask", "sink.mask"))


def test_block_delivers_every_packet_in_order_with_exact_masks():
    stats = run_graph(chain(frames=40, slow=0.002, key="block"))
    got = Collect.received["block"]
    assert len(got) == 40
    ts = [f.capture_ts_ns for f, _ in got]
    assert ts == sorted(ts) and len(set(ts)) == 40
    assert [f.seq for f, _ in got] == list(range(40))
    for frame, mask in got:                       # paired by timestamp, never a neighbour
        assert mask is not None and mask.capture_ts_ns == frame.capture_ts_ns
        assert mask.payload[0, 0] == pytest.approx(frame.payload[0, 0, 0] / 255.0)
    assert stats.dropped == 0
    assert stats.nodes["sink"].processed == 40


def test_latest_drops_under_a_slow_consumer_and_latency_stays_bounded():
    spec = chain(frames=60, live=True, fps=100.0, key="latest", queue_size=1)
    spec.nodes["sink"].options["seconds"] = 0.05         # sink 20 fps behind a 100 fps source
    stats = run_graph(spec)
    got = Collect.received["latest"]
    assert stats.dropped > 0
    assert stats.edges["slow.frame->sink.frame"].dropped > 0
    assert len(got) < 60
    # a packet waits at most for the one being processed plus a queue of one: ~2 periods of the sink
    ages_ms = sorted(stats.nodes["sink"].latency_ns)
    assert ages_ms[len(ages_ms) // 2] / 1e6 < 200


def test_block_backpressure_reaches_the_source_without_drops():
    spec = chain(frames=15, key="bp", queue_size=1)
    spec.nodes["sink"].options["seconds"] = 0.01
    stats = run_graph(spec)
    assert stats.dropped == 0
    assert len(Collect.received["bp"]) == 15


def test_a_raising_node_stops_the_graph_naming_node_type_and_timestamp():
    spec = (GraphSpec(name="t").add("src", "t_count", frames=1000).add("bad", "t_fail", at=3)
            .add("sink", "t_collect", key="fail").connect("src.frame", "bad.frame")
            .connect("bad.frame", "sink.frame"))
    with pytest.raises(NodeError) as info:
        run_graph(spec)
    err = info.value
    assert err.node_id == "bad" and err.node_type == "t_fail"
    assert "node 'bad' (t_fail)" in str(err) and "at frame 2 (t=" in str(err) and "boom" in str(err)
    assert err.capture_ts_ns is not None
    assert len(Collect.received["fail"]) == 2     # what came before the error was delivered


def test_missing_masks_fall_back_to_the_newest_older_mask_within_max_age():
    run_graph(chain(frames=30, key="skip", skip_every=3))
    got = Collect.received["skip"]
    assert len(got) == 30
    for i, (frame, mask) in enumerate(got):
        assert mask is not None
        if (i + 1) % 3 == 0:                       # its own mask was skipped: the previous one is used
            assert mask.capture_ts_ns < frame.capture_ts_ns
        else:
            assert mask.capture_ts_ns == frame.capture_ts_ns


def test_a_block_graph_goes_on_past_masks_a_node_never_emitted():
    # the mask node emits on 1 frame in 10 while the queues hold 2: the sink used to wait for ever for the
    # 2nd frame's mask while the frames backed up to the source, which then could not feed the mask node
    # either (a deadlock); the node settles each timestamp it is done with, so the sink pairs the newest
    # older mask as soon as the mask node has taken that frame
    runner = GraphRunner(chain(frames=60, key="rare", only_every=10, queue_size=2)).start()
    assert runner.wait(120.0), "the graph stalled"
    assert runner.error is None
    got = Collect.received["rare"]
    assert [frame.seq for frame, _ in got] == list(range(60))
    stamps = [frame.capture_ts_ns for frame, _ in got]
    for i, (frame, mask) in enumerate(got):
        assert mask is not None and mask.capture_ts_ns == stamps[i - i % 10]   # its own, or the last one made
    assert runner.stats.nodes["sink"].late_or_missing["mask"] == 54


def test_a_node_that_emits_later_is_waited_for_and_its_end_still_ends_the_graph():
    # a delay line (emits_later) says nothing of which timestamps are done: every frame waits for its own
    # mask, which comes one frame late; the last one never comes and the end of its stream ends the wait
    runner = GraphRunner(chain(frames=30, key="late", delayed_mask=True)).start()
    assert runner.wait(120.0), "the graph stalled"
    assert runner.error is None
    got = Collect.received["late"]
    assert len(got) == 30
    for frame, mask in got[:-1]:
        assert mask.capture_ts_ns == frame.capture_ts_ns
    assert got[-1][1].capture_ts_ns == got[-2][0].capture_ts_ns


def test_stop_ends_sources_and_drains_cleanly():
    runner = GraphRunner(chain(frames=100000, fps=200.0, key="stop")).start()
    time.sleep(0.3)
    runner.stop()
    assert runner.wait(5.0)
    assert runner.error is None
    got = Collect.received["stop"]
    assert 0 < len(got) == runner.stats.nodes["src"].emitted


def test_max_frames_limits_sources():
    stats = run_graph(chain(frames=100, key="max"), max_frames=7)
    assert len(Collect.received["max"]) == 7
    assert stats.nodes["src"].emitted == 7


def test_options_change_while_running_and_bad_values_are_refused():
    from portraitflow.graph import ConfigError
    spec = chain(frames=100000, fps=200.0, key="live-opts")
    runner = GraphRunner(spec).start()
    try:
        time.sleep(0.1)
        with pytest.raises(ConfigError, match="seconds"):
            runner.set_options("sink", {"seconds": "slow"})
        runner.set_options("slow", {"seconds": 0.0})
        time.sleep(0.2)
        assert runner.nodes["slow"].options.seconds == 0.0
    finally:
        runner.stop()
        assert runner.wait(5.0)


def test_sources_wait_until_every_node_is_open():
    """A slow open() downstream (a model loading) must not make a live source's first frames drop."""
    from portraitflow.graph import registry

    from support.graph_nodes import Slow

    class SlowOpen(Slow):
        opened_at_ns = 0

        def open(self, ctx):
            time.sleep(0.3)
            SlowOpen.opened_at_ns = time.monotonic_ns()

    registry.register("t_slow_open", SlowOpen)
    spec = chain(frames=10, live=True, fps=100.0, key="open", queue_size=1)
    spec.nodes["slow"].type = "t_slow_open"
    spec.nodes["slow"].options["seconds"] = 0.0
    stats = run_graph(spec)
    got = Collect.received["open"]
    # an ordering, not a timing: the source made its first frame only after the slow open() ended,
    # so that frame was not dropped while the stage was starting (later drops depend on machine load)
    assert got and got[0][0].seq == 0, stats.summary()
    assert min(frame.capture_ts_ns for frame, _ in got) >= SlowOpen.opened_at_ns


def test_option_changes_sent_before_the_node_applies_them_all_count():
    """Two settings changed within one frame (two sliders, a look's settings merged) both arrive."""
    from dataclasses import dataclass

    from portraitflow.graph import registry

    from support.graph_nodes import Slow

    class TwoKnobs(Slow):
        @dataclass(frozen=True)
        class Options:
            seconds: float = 0.05
            other: float = 0.0

    registry.register("t_two_knobs", TwoKnobs)
    spec = (GraphSpec(name="two").add("src", "t_count", frames=100000, fps=50.0)
            .add("slow", "t_two_knobs", seconds=0.05).add("sink", "t_collect", key="two")
            .connect("src.frame", "slow.frame").connect("slow.frame", "sink.frame"))
    runner = GraphRunner(spec).start()
    try:
        runner.set_options("slow", {"seconds": 0.01})
        runner.set_options("slow", {"other": 2.0})       # built on the pending change, not on the running one
        assert (runner.current_options("slow").seconds, runner.current_options("slow").other) == (0.01, 2.0)
        deadline = time.monotonic() + 10
        while runner.nodes["slow"].options.other != 2.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (runner.nodes["slow"].options.seconds, runner.nodes["slow"].options.other) == (0.01, 2.0)
    finally:
        runner.stop()
        assert runner.wait(5.0)


def test_pause_holds_the_sources_and_resume_goes_on_and_stop_ends_a_paused_graph():
    runner = GraphRunner(chain(frames=100000, fps=100.0, key="pause")).start()
    try:
        deadline = time.monotonic() + 10
        while runner.stats.nodes["src"].emitted < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        runner.pause()
        assert runner.paused
        at_pause = runner.stats.nodes["src"].emitted
        time.sleep(0.3)                                  # 30 frames' worth at 100 fps
        assert runner.stats.nodes["src"].emitted <= at_pause + 1   # at most the one being made
        runner.resume()
        while runner.stats.nodes["src"].emitted < at_pause + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runner.stats.nodes["src"].emitted >= at_pause + 5
        runner.pause()
    finally:
        runner.stop()                                    # a paused graph still stops
        assert runner.wait(5.0)


def test_a_live_change_that_makes_the_node_fail_is_undone_and_the_graph_runs_on():
    """A page sets an image path that does not load: the look stays as it was, the run goes on."""
    from dataclasses import dataclass

    from portraitflow.graph import registry

    from support.graph_nodes import Slow

    class Fussy(Slow):
        @dataclass(frozen=True)
        class Options:
            seconds: float = 0.0
            background: str = "ok.png"

        def process(self, ctx):
            if self.options.background != "ok.png":
                raise FileNotFoundError(f"cannot read {self.options.background}")
            super().process(ctx)

    registry.register("t_fussy", Fussy)
    spec = (GraphSpec(name="fussy").add("src", "t_count", frames=100000, fps=100.0)
            .add("fussy", "t_fussy").add("sink", "t_collect", key="fussy")
            .connect("src.frame", "fussy.frame").connect("fussy.frame", "sink.frame"))
    runner = GraphRunner(spec).start()
    try:
        runner.set_options("fussy", {"background": "missing.png"})     # valid as data; fails when used
        deadline = time.monotonic() + 10
        while "fussy" not in runner.undone_changes and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runner.undone_changes["fussy"] == "FileNotFoundError: cannot read missing.png"
        assert runner.nodes["fussy"].options.background == "ok.png"
        assert runner.stats.nodes["fussy"].counters["option_change_undone"] == 1
        processed = runner.stats.nodes["sink"].processed
        while runner.stats.nodes["sink"].processed < processed + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runner.stats.nodes["sink"].processed >= processed + 5 and runner.error is None
    finally:
        runner.stop()
        assert runner.wait(5.0)
    assert runner.error is None


def test_abort_wakes_producers_blocked_on_full_queues_and_a_consumer_waiting_for_its_pair():
    # no mask ever comes and the mask node never says a timestamp is done (emits_later): on BLOCK edges the
    # sink waits for its pair without end, the frames back up to the source; threads sleep until woken
    # (nothing polls), so only abort's wakeups can end this graph (the sink's, then each stream it detaches
    # wakes the producer blocked on it), and no node may go on with a pair the abort made up
    runner = GraphRunner(chain(frames=100000, key="abort", skip_every=1, holding_mask=True)).start()
    to_sink = runner.streams["slow.frame->sink.frame"]
    to_slow = runner.streams["src.frame->slow.frame"]
    masks = runner.streams["mask.mask->sink.mask"]
    deadline = time.monotonic() + 30.0
    while not (len(to_sink) == to_sink.capacity and len(to_slow) == to_slow.capacity and masks.consumer_waiting):
        assert time.monotonic() < deadline, "the graph never backed up"
        time.sleep(0.01)
    emitted = runner.stats.nodes["src"].emitted
    runner.abort()
    assert runner.wait(30.0)
    assert not runner.running
    assert runner.stats.nodes["src"].emitted == emitted < 100000   # the blocked source never went on
    assert Collect.received["abort"] == []                          # the sink never got a pair


def test_when_several_nodes_fail_to_open_the_earliest_in_the_graph_is_the_error():
    """Nodes open at once: a sink that fails first must not hide the source's failure (no camera is
    the problem to fix; the sink that had nothing to show is next), whichever thread lost the race."""
    import threading

    from portraitflow.graph import registry

    from support.graph_nodes import CountingSource

    sink_failed = threading.Event()

    class NoCamera(CountingSource):
        def open(self, ctx):
            sink_failed.wait(5)   # the sink's failure is recorded first
            raise RuntimeError("no camera found")

    class NoDevice(Collect):
        def open(self, ctx):
            try:
                raise RuntimeError("no output device")
            finally:
                sink_failed.set()

    registry.register("t_no_camera", NoCamera)
    registry.register("t_no_device", NoDevice)
    spec = chain(frames=5)
    spec.nodes["src"].type = "t_no_camera"
    spec.nodes["sink"].type = "t_no_device"
    with pytest.raises(NodeError) as err:
        run_graph(spec)
    assert err.value.node_id == "src" and "no camera found" in str(err.value)


def test_ctrl_c_while_the_nodes_start_returns_only_after_every_node_thread_has_closed():
    """Ctrl-C as the graph starts (a source still opening: a camera, or a model loading) stops it cleanly, as
    any first Ctrl-C does, and run_graph returns only once every node thread has left and closed: raised
    inside Thread.start(), it broke threading's lock or left a daemon thread inside a library as the
    interpreter exited (SIGABRT, 'terminate called without an active exception'), seen from the README's
    `--preview web` command stopped right after its page answered."""
    import _thread
    import threading

    from portraitflow.graph import registry

    from support.graph_nodes import CountingSource

    closed = threading.Event()

    class SlowCamera(CountingSource):
        def open(self, ctx):
            _thread.interrupt_main()   # Ctrl-C while the runner is still starting the other nodes' threads
            time.sleep(0.5)            # the device takes its time to open
            super().open(ctx)

        def close(self, ctx):
            closed.set()

    registry.register("t_slow_camera", SlowCamera)
    spec = chain(frames=5)
    spec.nodes["src"].type = "t_slow_camera"
    try:
        stats = run_graph(spec)        # the first Ctrl-C stops cleanly, whenever it comes
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C left run_graph as an exception while the nodes were starting")
    assert stats.interrupted
    assert closed.is_set(), "run_graph ended while the source was still opening"
    assert not [t.name for t in threading.enumerate() if t.name.startswith("node:")]
