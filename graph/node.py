"""The node contract: declared ports and options, and the open / process / close life cycle.

A node is a small class; the runtime reads its contract from the class and checks the whole graph
before the first frame. Not for: scheduling (graph/runner.py) or wiring (graph/spec.py).

    class Invert(Node):
        '''Make background 1 and person 0.   in: mask (Mask)   out: mask (Mask)'''
        inputs = {"mask": Mask}
        outputs = {"mask": Mask}

        def process(self, ctx):
            packet = ctx.inputs["mask"]
            ctx.emit("mask", packet.derive(1.0 - packet.payload))

A source has no inputs; its process() emits (usually one packet) per call and raises EndOfStream
when it is done. A sink has no outputs. Nodes never read the environment or the command line.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import ContractError
from .kinds import Kind
from .options import NoOptions
from .packet import Packet, now_ns


@dataclass(frozen=True)
class Pairing:
    """How a multi-input node pairs its inputs by capture timestamp.

    The primary input drives the node: one process() call per primary packet. For every other
    input the runtime looks for the packet with the same timestamp, waiting up to ``wait_ms`` for
    it (``None``: as long as it takes, for offline graphs); when it is late or was dropped, it
    uses the newest packet not newer than the primary, if no older than ``max_age_ms``; failing
    that the input is ``None`` in ctx.inputs and the node decides (e.g. fail closed).
    """

    primary: str
    wait_ms: float | None = 100.0
    max_age_ms: float = 250.0


@dataclass(frozen=True)
class Encoding:
    """What an encoding sink (a file, a stream) takes from the run, named by its own options, so the
    command line sets them by contract and never by node type: ``rate_option`` gets `--fps`,
    ``sound_option`` the path of the input file whose sound goes along, ``live_timing`` (option, value)
    is set when the run is live (a recording keeps the camera's real timing), and ``plays_live`` says
    the output is live by nature (a network stream): file sources feeding it play in real time."""

    rate_option: str | None = None
    sound_option: str | None = None
    live_timing: tuple[str, str] | None = None
    plays_live: bool = False


class Context:
    """What a node sees while it runs: the inputs of this call, emit, counters, new packets."""

    def __init__(self, node_id: str, emit: Callable[[str, Packet], None]):
        self.node_id = node_id
        self.inputs: dict[str, Packet | None] = {}
        self.counters: dict[str, int] = {}
        self._emit = emit
        self._next_seq = 0
        self.stop_requested = False

    def emit(self, port: str, packet: Packet) -> None:
        """Send a packet on an output port (to every edge connected to it)."""
        self._emit(port, packet)

    def new_packet(self, payload: Any, *, capture_ts_ns: int | None = None,
                   meta: dict[str, Any] | None = None) -> Packet:
        """For sources: a packet stamped now (monotonic ns) with the next sequence number."""
        seq = self._next_seq
        self._next_seq += 1
        return Packet(payload, now_ns() if capture_ts_ns is None else capture_ts_ns, seq, meta or {})

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter shown in the run summary (e.g. 'fail_closed')."""
        self.counters[name] = self.counters.get(name, 0) + n


class Node:
    """Base class of every node. Subclasses declare ``inputs``, ``outputs`` and ``Options``.

    The contract is read from the class and the node's options before the first frame, and it is
    what runs: ``pairing_for(options)`` and ``live_for(options)`` are asked once per node when the
    graph is checked (and again when its options change while running), never replaced in open().
    """

    inputs: ClassVar[dict[str, type[Kind]]] = {}
    outputs: ClassVar[dict[str, type[Kind]]] = {}
    optional_inputs: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type] = NoOptions
    #: for nodes with more than one input and a fixed rule; a rule that depends on the options
    #: overrides ``pairing_for`` instead
    pairing: ClassVar[Pairing | None] = None
    #: sources: the bool option that makes this source play at its own frame rate, like a camera
    #: (`run --realtime`, `--preview web` set it); None when it cannot be paced
    pace_option: ClassVar[str | None] = None
    #: sources: the option naming a local media file whose sound an encoding sink may carry (None: no sound)
    sound_file_option: ClassVar[str | None] = None
    #: sinks that encode (files, streams): what they take from the run (see Encoding)
    encoding: ClassVar[Encoding | None] = None
    #: True for a node that emits a packet after the call that took it (a delay line, a batch): its outputs
    #: then never say a timestamp is done, and a node pairing with them waits for the packet itself.
    #: False (every node here): once process() returns for a packet, nothing at or before its timestamp
    #: comes any more, which lets a BLOCK graph go on past a packet the node dropped
    emits_later: ClassVar[bool] = False

    def __init__(self, node_id: str, options: Any = None, type_name: str | None = None):
        self.id = node_id
        self.options = options if options is not None else self.Options()
        self.type_name = type_name or type(self).__name__

    @classmethod
    def pairing_for(cls, options: Any) -> Pairing | None:
        """How this node pairs its inputs with these options (default: the class's ``pairing``)."""
        return cls.pairing

    @classmethod
    def live_for(cls, options: Any) -> bool:
        """Sources: True when, with these options, packets come in real time (camera, network, a
        paced file), so edges default to dropping stale packets; False for files, where nothing
        may be dropped."""
        if cls.live is not Node.live:   # a node written before live_for: it overrides the property
            return bool(cls("contract", options).live)
        return False

    @classmethod
    def check_contract(cls) -> None:
        """Raise ContractError when the class's declaration is inconsistent."""
        for table in (cls.inputs, cls.outputs):
            for port, kind in table.items():
                if not (isinstance(kind, type) and issubclass(kind, Kind)):
                    raise ContractError(f"{cls.__name__}: port {port!r} kind must be a Kind, got {kind!r}")
        declares_rule = cls.pairing is not None or cls.pairing_for.__func__ is not Node.pairing_for.__func__
        if len(cls.inputs) > 1 and not declares_rule:
            raise ContractError(f"{cls.__name__}: a node with several inputs must declare `pairing` "
                                f"(or `pairing_for(options)`)")
        if cls.pairing is not None:
            cls.check_pairing(cls.pairing)
        fields = {f.name: f.type for f in dataclasses.fields(cls.Options)}
        if cls.encoding is not None:
            named = (cls.encoding.rate_option, cls.encoding.sound_option,
                     cls.encoding.live_timing[0] if cls.encoding.live_timing else None)
            unknown = [name for name in named if name is not None and name not in fields]
            if unknown or cls.outputs:
                raise ContractError(f"{cls.__name__}: encoding must name options of a sink, got "
                                    f"{', '.join(unknown) or 'outputs'} (options: {', '.join(fields) or 'none'})")
        if cls.sound_file_option is not None and (cls.inputs or cls.sound_file_option not in fields):
            raise ContractError(f"{cls.__name__}: sound_file_option {cls.sound_file_option!r} must name an "
                                f"option of a source (options: {', '.join(fields) or 'none'})")
        if cls.pace_option is not None and (cls.inputs or fields.get(cls.pace_option) not in (bool, "bool")):
            raise ContractError(f"{cls.__name__}: pace_option {cls.pace_option!r} must name a bool option "
                                f"of a source (options: {', '.join(fields) or 'none'})")

    @classmethod
    def check_pairing(cls, pairing: Any) -> None:
        """Raise ContractError unless ``pairing`` is a Pairing this class's inputs can run with."""
        if pairing is None:
            if len(cls.inputs) > 1:
                raise ContractError(f"{cls.__name__}: a node with several inputs needs a pairing, got None")
            return
        if not isinstance(pairing, Pairing):
            raise ContractError(f"{cls.__name__}: pairing must be a Pairing, got {pairing!r}")
        if pairing.primary not in cls.inputs:
            raise ContractError(f"{cls.__name__}: pairing.primary {pairing.primary!r} is not an input "
                                f"(inputs: {', '.join(cls.inputs) or 'none'})")
        if pairing.wait_ms is not None and not pairing.wait_ms >= 0:
            raise ContractError(f"{cls.__name__}: pairing.wait_ms must be >= 0 or None, "
                                f"got {pairing.wait_ms}")
        if not pairing.max_age_ms >= 0:
            raise ContractError(f"{cls.__name__}: pairing.max_age_ms must be >= 0, got {pairing.max_age_ms}")

    @property
    def is_source(self) -> bool:
        return not self.inputs

    @property
    def live(self) -> bool:
        """Whether this source's packets come in real time: ``live_for(self.options)``."""
        return type(self).live_for(self.options)

    def open(self, ctx: Context) -> None:
        """Acquire resources (files, sessions, windows). Called once on the node's thread."""

    def process(self, ctx: Context) -> None:
        """Handle ctx.inputs and emit results. Sources: emit the next packet or raise EndOfStream."""
        raise NotImplementedError

    def options_changed(self, ctx: Context) -> None:
        """Called on the node's thread after the runner replaced self.options while running
        (GraphRunner.set_options). Rebuild whatever was derived from the old options."""

    def close(self, ctx: Context) -> None:
        """Release resources; always called, even after an error, so files are finalised."""


class OutputCheck:
    """The runtime's check of what a node emits, in one place (the runner and the test harness both
    use it): the port is declared, the payload fits the port's kind, timestamps increase per port."""

    def __init__(self, node_cls: type[Node]):
        self.outputs = node_cls.outputs
        self.last_ts: dict[str, int] = {}

    def __call__(self, port: str, packet: Packet) -> None:
        kind = self.outputs.get(port)
        if kind is None:
            raise ContractError(f"emitted on undeclared output {port!r} "
                                f"(outputs: {', '.join(self.outputs) or 'none'})")
        problem = kind.check(packet.payload)
        if problem:
            raise ContractError(f"output {port!r} ({kind.name}): {problem}")
        previous = self.last_ts.get(port)
        if previous is not None and packet.capture_ts_ns <= previous:
            raise ContractError(f"output {port!r}: timestamps must increase, got {packet.capture_ts_ns} "
                                f"after {previous}")
        self.last_ts[port] = packet.capture_ts_ns
