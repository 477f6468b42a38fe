"""A minimal binary-protocol board for the driver benchmarks, run as a separate process.

It speaks only what a recording needs (HELLO/INFO, CONFIGURE, START, STOP, each ACKed),
built from the protocol codecs and nothing of ``daq``. While streaming it emits DATA
in batches of ``rate / 100`` samples (1..314), each due at ``start + k * period`` on the
monotonic clock (no accumulated sleep error). Writes are non-blocking behind a
bounded backlog: a frame that does not fit is dropped and counted, like a board whose
USB buffer is full, so a host that cannot keep up shows as loss, not as a slower stream.
After each STOP that ends a stream it prints one JSON line on stdout: samples sent and
dropped, and bytes.

Usage (the benchmarks start it): ``python bench/pty_streamer.py MASTER_FD``
"""

from __future__ import annotations

import json
import math
import os
import select
import sys
import time
from array import array

from firmware_protocols import (
    MAX_SAMPLES_PER_FRAME,
    Ack,
    ChannelInfo,
    ChannelKind,
    Configure,
    Data,
    FrameDecoder,
    FrameEncoder,
    Hello,
    Info,
    Start,
    Stop,
)

RATES_HZ = (1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 400000, 800000)
BACKLOG_BYTES = 1 << 16
_TABLE = 100_000  # samples of a slow sine, cycled, so frames carry changing counts


def serve(fd: int) -> None:
    os.set_blocking(fd, False)
    decoder, encoder = FrameDecoder(), FrameEncoder()
    wave = array("i", (int(20000 * math.sin(2 * math.pi * k / _TABLE)) for k in range(2 * _TABLE)))
    info = Info(1, "bench-streamer", "BENCH-1", "1", tuple(ChannelInfo(k, 16) for k in ChannelKind), RATES_HZ,
                MAX_SAMPLES_PER_FRAME)
    rate, spf = 1000, 10
    streaming = False
    backlog = bytearray()
    t0 = 0.0
    k = 0
    sent = dropped = nbytes = 0
    while True:
        due = t0 + (k + 1) * spf / rate if streaming else None
        timeout = 0.05 if due is None else max(0.0, due - time.monotonic())
        readable, _, _ = select.select([fd], [fd] if backlog else [], [], timeout)
        if readable:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return  # the host side is gone
            for seq, msg in decoder.feed(chunk):
                if isinstance(msg, Hello):
                    backlog += encoder.encode(info)
                elif isinstance(msg, Configure):
                    rate = msg.sample_rate_hz
                    spf = msg.samples_per_frame or max(1, min(MAX_SAMPLES_PER_FRAME, rate // 100))
                    backlog += encoder.encode(Ack(msg.TYPE, seq))
                elif isinstance(msg, Start):
                    streaming, t0, k, sent, dropped, nbytes = True, time.monotonic(), 0, 0, 0, 0
                    backlog += encoder.encode(Ack(msg.TYPE, seq))
                elif isinstance(msg, Stop):
                    if streaming:
                        print(json.dumps({"sent": sent, "dropped": dropped, "bytes": nbytes}), flush=True)
                    streaming = False
                    backlog += encoder.encode(Ack(msg.TYPE, seq))
        if streaming:
            now = time.monotonic()
            while streaming and t0 + (k + 1) * spf / rate <= now:
                first = k * spf
                at = first % _TABLE
                data = Data(round(first * 1e6 / rate), first % (1 << 32), wave[at : at + spf],
                            wave[at + 7 : at + 7 + spf], wave[at + 13 : at + 13 + spf], bytes(spf))
                frame = encoder.encode(data)
                if len(backlog) + len(frame) > BACKLOG_BYTES:
                    dropped += spf
                else:
                    backlog += frame
                    sent += spf
                    nbytes += len(frame)
                k += 1
        if backlog:
            try:
                n = os.write(fd, backlog)
            except BlockingIOError:
                n = 0
            except OSError:
                return
            del backlog[:n]


if __name__ == "__main__":
    serve(int(sys.argv[1]))
