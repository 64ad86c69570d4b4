"""A stand-alone stream receiver for the stream sink tests: decodes with PyAV, prints one JSON line per frame.

Not for: importing. It runs as its own process (as OBS or a player would): an RTMP listener blocks
inside FFmpeg without releasing the GIL, so it cannot share a process with the sender.
usage: python stream_receiver.py URL FORMAT MAX_FRAMES [listen]
"""
from __future__ import annotations

import json
import sys
import time

import av
import numpy as np


def describe(frame: av.VideoFrame) -> dict:
    image = frame.to_ndarray(format="bgr24")
    received_ns = time.monotonic_ns()
    band = image[8:48].max(axis=2)     # the rows where the test draws its moving square
    columns = np.nonzero(band.mean(axis=0) > 200)[0]
    grey = image[:24, :16 * 24].mean(axis=2)    # the camera schedule's 16-bit index code
    code = grey.reshape(24, 16, 24).mean(axis=(0, 2)) > 128 if image.shape[1] >= 16 * 24 else []
    return {"received_ns": received_ns, "width": image.shape[1], "height": image.shape[0],
            "pts": frame.pts, "time": float(frame.time) if frame.time is not None else None,
            "code": int(sum(int(b) << i for i, b in enumerate(code))),
            "grey": float(np.median(image[image.shape[0] // 2:])),
            "square_x": float(columns.mean()) if columns.size else None}


def main() -> int:
    url, container_format, max_frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # no "fflags nobuffer": it throws away every packet read while probing the stream
    options = {"probesize": "32768", "analyzeduration": "0"}
    if len(sys.argv) > 4 and sys.argv[4] == "listen":
        options["listen"] = "1"
    print(json.dumps({"ready": True}), flush=True)
    container = av.open(url, format=container_format, options=options, timeout=(15.0, 5.0))
    count = 0
    joined = False
    selected = [container.streams.video[0], *container.streams.audio[:1]]
    try:
        for packet in container.demux(*selected):
            if packet.stream.type == "audio":
                for sound in packet.decode():     # the sound the stream carries, when it has any
                    print(json.dumps({"audio_time": float(sound.time) if sound.time is not None else None,
                                      "samples": sound.samples, "rate": sound.sample_rate}), flush=True)
                continue
            for frame in packet.decode():
                # frames before the first keyframe are the decoder's guesses (joined mid-stream)
                joined = joined or frame.key_frame
                if not joined:
                    continue
                print(json.dumps(describe(frame)), flush=True)
                count += 1
            if count >= max_frames:
                break
    except (av.FFmpegError, OSError) as exc:   # the sender hung up: the end of a live stream
        print(json.dumps({"end": str(exc)}), flush=True)
    container.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
