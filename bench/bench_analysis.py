"""Benchmark: analysing and loading long 1 kHz recordings (10 minutes to 1 hour).

Builds a recording by repeating simulated knee sets (con/con at 60, 180 and 300 deg/s
with rests, from ``simulators.model``), writes it as a recording CSV in a temporary
folder, then times on one core:

- ``analyze_recording`` alone (samples already in memory);
- ``daq.recording.read_recording`` of the CSV, against ``numpy.loadtxt`` of the same file.

Prints one line per length and the growth from the shortest to the longest, so
linearity can be read off. Targets (not asserted): analysis of one hour under 1 s,
loading close to numpy's own reader. Run: ``python bench/bench_analysis.py [--minutes 10 30 60]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from analysis import analyze_recording
from daq.recording import Recording, read_recording, write_recording
from simulators.model import SetProtocol, default_profile, simulate_set

FS_HZ = 1000.0


def _block() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About a minute of sets: three velocities, 10 repetitions each way, with their rests."""
    parts = []
    for i, velocity in enumerate((60.0, 180.0, 300.0)):
        proto = SetProtocol(joint="knee", side="left", mode="con/con", velocity_dps=velocity, repetitions=10,
                            rest_before_s=5.0, rest_after_s=5.0)
        sim = simulate_set(default_profile(), proto, sample_rate_hz=FS_HZ, seed=i)
        parts.append((sim.torque_nm, sim.position_deg, sim.velocity_dps))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]


def _recording(minutes: float, block: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Recording:
    n = int(minutes * 60 * FS_HZ)
    reps = n // len(block[0]) + 1
    torque, position, velocity = (np.tile(x, reps)[:n] for x in block)
    return Recording(np.arange(n) / FS_HZ, torque, position, velocity,
                     metadata={"joint": "knee", "side": "left", "sample_rate_hz": "1000"})


def _header_lines(path: Path) -> int:
    """Lines up to and including the column header."""
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if line.startswith("time_s,"):
                return i
    raise ValueError(f"{path}: no header")


def _best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    block = _block()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            rec = _recording(minutes, block)
            path = Path(tmp) / f"bench_{minutes:g}min.csv"
            write_recording(path, rec)
            analysis_s = _best_of(lambda: analyze_recording(rec.time_s, rec.torque_nm, rec.position_deg,
                                                           rec.velocity_dps, joint="knee"), args.repeat)
            reps = sum(s.metrics.repetitions for s in analyze_recording(
                rec.time_s, rec.torque_nm, rec.position_deg, rec.velocity_dps, joint="knee").sets)
            load_s = _best_of(lambda: read_recording(path), 1)
            head = _header_lines(path)
            numpy_s = _best_of(lambda: np.loadtxt(path, delimiter=",", comments="#", skiprows=head,
                                                  dtype=np.float64, ndmin=2), 1)
            size_mb = path.stat().st_size / 1e6
            rows.append((minutes, len(rec), analysis_s, load_s, numpy_s))
            print(f"{minutes:5.0f} min  {len(rec):>9,d} samples  {reps:5d} reps  {size_mb:6.1f} MB  "
                  f"analysis {analysis_s:6.3f} s  load {load_s:6.2f} s  numpy.loadtxt {numpy_s:6.2f} s  "
                  f"(load / numpy {load_s / numpy_s:4.2f})")
            path.unlink()
    if len(rows) > 1:
        (m0, n0, a0, l0, _), (m1, n1, a1, l1, _) = rows[0], rows[-1]
        print(f"growth {m0:g} -> {m1:g} min (x{n1 / n0:.1f} samples): analysis x{a1 / a0:.2f}, load x{l1 / l0:.2f}")


if __name__ == "__main__":
    main()
