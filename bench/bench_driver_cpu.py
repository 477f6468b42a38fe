"""CPU used by the driver while a separate process streams 1 kHz through a real pty.

The board process is ``bench/pty_streamer.py`` (10 ms frames, as the simulator and
typical boards send). This process runs the driver (reader thread, decoding, time fit,
calibration) and one subscriber draining its queue; its CPU time
(``time.process_time``, all threads) over the streaming period is the figure, as a
percentage of one core. In the same run, the same process with the driver open and
the device idle gives the baseline (the reader's polling alone). Target: under 5 %.

Run: ``python bench/bench_driver_cpu.py`` (about 20 s).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from bench_pty_throughput import drain, start_streamer

from daq.binary_driver import BinaryDriver
from daq.calibration import load_profile
from daq.plan import SetPlan

TARGET_PCT = 5.0


def cpu_pct(seconds: float) -> float:
    """This process's CPU over the next ``seconds`` of wall time, % of one core."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="streaming time (default 10); idle is half")
    parser.add_argument("--rate", type=int, default=1000, help="sample rate, Hz (default 1000)")
    args = parser.parse_args()
    proc, slave, url = start_streamer()
    counts = {"samples": 0}
    try:
        driver = BinaryDriver(url, calibration=load_profile("simulator"), sample_rate_hz=args.rate).open()
        consumer = threading.Thread(target=drain, args=(driver.subscribe(), counts))
        consumer.start()
        with driver:
            driver.configure(SetPlan(args.rate))
            idle = cpu_pct(args.seconds / 2)
            driver.start()
            streaming = cpu_pct(args.seconds)
            driver.stop()
            stats = driver.stats()
        consumer.join()
    finally:
        proc.kill()
        proc.wait()
        os.close(slave)
    print(f"driver at {args.rate} Hz over {args.seconds:g} s: {counts['samples']} samples, "
          f"{stats.lost_samples} lost, {stats.frames} frames")
    print(f"CPU, % of one core: streaming {streaming:.2f} %, idle baseline {idle:.2f} %, "
          f"streaming minus idle {streaming - idle:.2f} %")
    print(f"target < {TARGET_PCT:g} %: streaming uses {streaming / TARGET_PCT:.2f} of the budget")


if __name__ == "__main__":
    main()
