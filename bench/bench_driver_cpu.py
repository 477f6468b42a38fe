"""CPU of the driver's reader thread while a separate process streams 1 kHz through a real pty.

The board process is ``bench/pty_streamer.py`` (10-sample frames every 10 ms at 1 kHz, as the
simulator and typical boards send). The measuring process runs the driver (reader thread:
read, decode, checks, time fit, hand-off) and one subscriber reading every array of every block
(calibrated values included: a block may make its arrays when first read, in the subscriber's thread).
The figure is the reader thread's own CPU time (its POSIX thread CPU clock) per second of
recording, the recording's seconds counted by its own clock (samples received / rate), as a
percentage of one core; the whole process's CPU (reader, subscriber, main thread) is shown
beside it, with the reader's wake-ups (reads that returned bytes) and their cost. The reader's
CPU with the driver open and the device idle (its polling alone) is shown too.

``--baseline REV`` measures git revision REV's ``daq`` and ``firmware_protocols`` in the same
run: each round runs the baseline and the working tree in turn, each in a fresh child
process, and the figures are summed over the rounds. Target: under 5 % of one core.

Run: ``python bench/bench_driver_cpu.py [--baseline 9cded4a]`` (about 15 s per child).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from baseline import REPO, export, loadavg, run_child

TARGET_PCT = 5.0


#: Every array of a block: a consumer that reads them all (a recording reads all but the raw counts).
FIELDS = ("index", "device_time_us", "host_time_s", "torque_counts", "position_counts", "velocity_counts",
          "torque_nm", "position_deg", "velocity_dps", "status")


def consume(sub, counts: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """The subscriber: reads every array of every block (a block may make its arrays when read)."""
    from daq.stream import SampleBlock, StreamEnded

    while True:
        item = sub.get()
        if isinstance(item, SampleBlock):
            counts["samples"] += sum(len(getattr(item, name)) for name in FIELDS) // len(FIELDS)
        elif isinstance(item, StreamEnded):
            return


def child(seconds: float, rate_hz: int) -> None:
    """One measurement with whatever ``daq`` is first on the path; prints one JSON line."""
    from bench_pty_throughput import start_streamer

    import daq
    from daq.binary_driver import BinaryDriver
    from daq.calibration import load_profile
    from daq.plan import SetPlan

    proc, slave, url = start_streamer()
    counts = {"samples": 0}
    wakeups = {"n": 0}
    try:
        driver = BinaryDriver(url, calibration=load_profile("simulator"), sample_rate_hz=rate_hz).open()
        feed = driver._feed

        def counted_feed(chunk: bytes, arrival_s: float) -> None:
            wakeups["n"] += 1
            feed(chunk, arrival_s)

        driver._feed = counted_feed  # type: ignore[method-assign]
        assert driver._thread is not None and driver._thread.ident is not None
        reader_clock = time.pthread_getcpuclockid(driver._thread.ident)
        consumer = threading.Thread(target=consume, args=(driver.subscribe(), counts))
        consumer.start()

        def snapshot() -> dict[str, float]:
            stats = driver.stats()
            return {"reader": time.clock_gettime(reader_clock), "process": time.process_time(),
                    "wall": time.monotonic(), "samples": stats.samples, "frames": stats.frames, "wakeups": wakeups["n"]}

        with driver:
            driver.configure(SetPlan(rate_hz))
            idle0 = snapshot()
            time.sleep(seconds / 3)
            idle1 = snapshot()
            driver.start()
            time.sleep(0.5)  # the first frames, the clock fit's start
            a = snapshot()
            time.sleep(seconds)
            b = snapshot()
            driver.stop()
            stats = driver.stats()
        consumer.join()
    finally:
        proc.kill()
        proc.wait()
        os.close(slave)
    delta = {k: b[k] - a[k] for k in a}
    print(json.dumps({
        "packages": str(Path(daq.__file__).resolve().parents[1]),
        "recording_s": delta["samples"] / rate_hz,
        "wall_s": delta["wall"],
        "reader_cpu_s": delta["reader"],
        "process_cpu_s": delta["process"],
        "wakeups": delta["wakeups"],
        "frames": delta["frames"],
        "idle_reader_cpu_s": idle1["reader"] - idle0["reader"],
        "idle_wall_s": idle1["wall"] - idle0["wall"],
        "lost": stats.lost_samples,
        "received": counts["samples"],
    }), flush=True)


def summed(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {k: sum(r[k] for r in rows) for k in rows[0] if k != "packages"}


def describe(name: str, s: dict[str, float]) -> str:
    rec = s["recording_s"]
    return (f"{name:>16}: reader {100 * s['reader_cpu_s'] / rec:5.2f} % of a core, process {100 * s['process_cpu_s'] / rec:5.2f} %"
            f" | {s['wakeups'] / rec:5.1f} wake-ups/s, {s['frames'] / max(s['wakeups'], 1):4.2f} frames each,"
            f" {1e6 * s['reader_cpu_s'] / max(s['wakeups'], 1):6.1f} us reader CPU each"
            f" | idle polling {100 * s['idle_reader_cpu_s'] / s['idle_wall_s']:4.2f} % | {rec:5.1f} s recorded, {s['lost']:.0f} lost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="streaming time per child (default 10)")
    parser.add_argument("--rate", type=int, default=1000, help="sample rate, Hz (default 1000)")
    parser.add_argument("--rounds", type=int, default=2, help="children per revision, alternating (default 2)")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV in the same run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.seconds, args.rate)
        return
    script = Path(__file__).resolve()
    child_args = ["--seconds", str(args.seconds), "--rate", str(args.rate)]
    print(f"load before: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("working tree", REPO)]
        if args.baseline:
            trees.insert(0, (args.baseline, export(args.baseline, ["daq", "firmware_protocols"], Path(tmp))))
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in trees}
        for _ in range(args.rounds):
            for name, tree in trees:
                rows[name] += run_child(script, child_args, tree)
                print(f"  {describe(name, summed(rows[name][-1:]))}  (load {loadavg()})", flush=True)
    print(f"driver at {args.rate} Hz, {args.rounds} x {args.seconds:g} s per revision:")
    totals = {name: summed(r) for name, r in rows.items()}
    for name, s in totals.items():
        print(describe(name, s))
    now = totals["working tree"]
    pct = 100 * now["reader_cpu_s"] / now["recording_s"]
    print(f"target < {TARGET_PCT:g} % of a core: reader {pct:.2f} % ({pct / TARGET_PCT:.2f} of the budget)")
    if args.baseline:
        old = totals[args.baseline]
        old_pct = 100 * old["reader_cpu_s"] / old["recording_s"]
        old_proc, now_proc = (100 * s["process_cpu_s"] / s["recording_s"] for s in (old, now))
        print(f"vs {args.baseline}: reader {old_pct:.2f} -> {pct:.2f} % (x{pct / old_pct:.2f}), "
              f"process {old_proc:.2f} -> {now_proc:.2f} % (x{now_proc / old_proc:.2f})")
    print(f"load after: {loadavg()}")


if __name__ == "__main__":
    main()
