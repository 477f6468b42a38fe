"""Highest sample rate the driver sustains through a real pseudo-terminal with zero loss.

A separate process (``bench/pty_streamer.py``) plays a board on the pty's master side,
pacing DATA frames from the monotonic clock; this process runs the driver on the slave
side with one subscriber draining its queue. The rate ramps up; at each step the
stream runs ``--seconds`` and counts as sustained only if every sample the board
produced reached the subscriber: no frame dropped by the board for a full buffer, no
gap, no CRC error, no subscriber overflow. Reports bytes/s and the driver process's
CPU at each step, and the highest sustained rate against the target (20 kHz, ten
times the fastest real interface).

Run: ``python bench/bench_pty_throughput.py`` (about 5 s per step).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from daq.binary_driver import BinaryDriver
from daq.calibration import load_profile
from daq.plan import SetPlan
from daq.stream import SampleBlock, StreamEnded

TARGET_HZ = 20_000
STREAMER = Path(__file__).with_name("pty_streamer.py")


def start_streamer() -> tuple[subprocess.Popen[str], int, str]:
    """The board process on a new pty: (process, slave fd kept open by us, slave path)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen([sys.executable, str(STREAMER), str(master)], pass_fds=[master], stdout=subprocess.PIPE,
                            text=True)
    os.close(master)
    return proc, slave, os.ttyname(slave)


def drain(sub, counts: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    while True:
        item = sub.get()
        if isinstance(item, SampleBlock):
            counts["samples"] += len(item)
        elif isinstance(item, StreamEnded):
            return


def run_step(proc: subprocess.Popen[str], url: str, rate_hz: int, seconds: float) -> dict[str, float]:
    counts = {"samples": 0}
    driver = BinaryDriver(url, calibration=load_profile("simulator"), sample_rate_hz=rate_hz).open()
    sub = driver.subscribe(max_items=100_000)
    consumer = threading.Thread(target=drain, args=(sub, counts))
    consumer.start()
    try:
        driver.configure(SetPlan(rate_hz))
        cpu0, wall0 = time.process_time(), time.monotonic()
        driver.start()
        time.sleep(seconds)
        driver.stop()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        stats = driver.stats()
    finally:
        driver.close()
        consumer.join()
    board = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
    lossless = (
        board["dropped"] == 0
        and stats.lost_samples == 0
        and stats.crc_errors == 0
        and stats.overflow_drops == 0
        and counts["samples"] == board["sent"]
    )
    return {
        "rate_hz": rate_hz,
        "produced": board["sent"] + board["dropped"],
        "received": counts["samples"],
        "lost": board["sent"] + board["dropped"] - counts["samples"],
        "board_dropped": board["dropped"],
        "gaps": len(stats.gaps),
        "bytes_per_s": board["bytes"] / wall,
        "cpu_pct": 100 * cpu / wall,
        "lossless": lossless,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each step (default 5)")
    parser.add_argument("--rates", type=int, nargs="+", default=[20_000, 50_000, 100_000, 200_000, 400_000, 800_000],
                        help="the ramp, Hz")
    args = parser.parse_args()
    proc, slave, url = start_streamer()
    best = 0
    print(f"{'rate Hz':>9} {'produced':>10} {'received':>10} {'lost':>6} {'(board full)':>12} {'MB/s':>7} "
          f"{'driver CPU':>10}")
    try:
        for rate in args.rates:
            r = run_step(proc, url, rate, args.seconds)
            print(f"{r['rate_hz']:>9} {r['produced']:>10} {r['received']:>10} {r['lost']:>6} {r['board_dropped']:>12} "
                  f"{r['bytes_per_s'] / 1e6:>7.2f} {r['cpu_pct']:>9.1f}%", flush=True)
            if not r["lossless"]:
                break
            best = rate
    finally:
        proc.kill()
        proc.wait()
        os.close(slave)
    print(f"highest rate with zero loss over {args.seconds:g} s: {best} Hz "
          f"(target >= {TARGET_HZ} Hz: {best / TARGET_HZ:.1f}x the target)")


if __name__ == "__main__":
    main()
