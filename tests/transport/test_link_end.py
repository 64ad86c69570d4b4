"""The end of a stream is acknowledged: a sender closes only once the receiver has its end message."""
from __future__ import annotations

import threading
import time

import numpy as np

from portraitflow.graph.packet import Packet
from portraitflow.graph.transport import wire
from portraitflow.graph.transport.codecs import RawEncoder
from portraitflow.graph.transport.link import LinkReceiver, LinkSender, LinkSettings

from support.split import free_tcp_port


def test_finish_waits_for_a_slow_receiver_to_take_every_frame_and_the_end():
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    receiver = LinkReceiver(LinkSettings(address, bind=True, stream="s", node="in"), window=2).start()
    sender = LinkSender(LinkSettings(address, bind=False, stream="s", node="out"), RawEncoder(),
                        block=True).start()
    frame = np.zeros((360, 640, 3), np.uint8)
    taken: list[str] = []

    def slow_consumer():           # busier than the sender: the end arrives long after finish() began
        while not taken or taken[-1] != wire.END:
            item = receiver.take(0.1)
            if item is not None:
                time.sleep(0.15)
                taken.append(item[0])
                receiver.done()

    consumer = threading.Thread(target=slow_consumer, daemon=True)
    consumer.start()
    try:
        for i in range(8):
            sender.offer(Packet(frame, time.monotonic_ns(), i))
        assert sender.finish(30.0) is True
        sender.close()                  # what a finished part does next: nothing may be lost now
        consumer.join(10.0)
        assert taken == [wire.DATA] * 8 + [wire.END]
        time.sleep(0.3)                 # repeated ends (if any) never end the stream twice
        assert receiver.take(0.1) is None
    finally:
        sender.close()
        receiver.close()


def test_an_end_nobody_acknowledges_is_counted_and_finish_returns():
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    sender = LinkSender(LinkSettings(address, bind=False, stream="s", node="out"), RawEncoder(),
                        block=False).start()
    try:
        assert sender.finish(0.2) is False
        assert sender.counters["link_end_unacknowledged"] == 1
    finally:
        sender.close()
