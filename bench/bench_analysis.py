"""Benchmark: analysing long 1 kHz recordings (10 minutes to 1 hour), on one core.

Builds a recording by repeating simulated knee sets (con/con at 60, 180 and 300 deg/s with
rests, from ``simulators.model``), writes it as a recording CSV per length in a temporary
folder, then measures ``analyze_recording`` alone (samples already in memory; loading is
``bench/bench_loading.py``'s) in a child process pinned to one core, best of ``--repeat``.
The children run ``--rounds`` times (default 3), this tree's and the baseline's in turn, so
both meet the same load on a shared machine; the figures are the best wall-clock time and
the best CPU time of the child (the wall clock also counts the time other processes held
the core). Prints one line per length and the growth from the shortest to the longest, so
linearity can be read off, then each length's analysis against the target (not asserted):
one hour under 1 s on one core (:data:`TARGET_S_PER_HOUR`; shorter recordings' times are
scaled to an hour). With ``--baseline REV`` the same files are also measured with the
``analysis`` and ``daq`` packages of git revision REV (``bench/baseline.py``), in the same
run, and the ratios printed, with the machine's load.
Run: ``python bench/bench_analysis.py [--minutes 10 30 60] [--baseline 9cded4a]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import baseline
import numpy as np
from baseline import REPO

FS_HZ = 1000.0
#: Target: one hour at 1 kHz analysed in under this long (s), on one core (issue 12).
TARGET_S_PER_HOUR = 1.0


def _block() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About a minute of sets: three velocities, 10 repetitions each way, with their rests."""
    from simulators.model import SetProtocol, default_profile, simulate_set

    parts = []
    for i, velocity in enumerate((60.0, 180.0, 300.0)):
        proto = SetProtocol(joint="knee", side="left", mode="con/con", velocity_dps=velocity, repetitions=10,
                            rest_before_s=5.0, rest_after_s=5.0)
        sim = simulate_set(default_profile(), proto, sample_rate_hz=FS_HZ, seed=i)
        parts.append((sim.torque_nm, sim.position_deg, sim.velocity_dps))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]


def _write(path: Path, minutes: float, block: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    from daq.recording import Recording, write_recording

    n = int(minutes * 60 * FS_HZ)
    reps = n // len(block[0]) + 1
    torque, position, velocity = (np.tile(x, reps)[:n] for x in block)
    write_recording(path, Recording(np.arange(n) / FS_HZ, torque, position, velocity,
                                    metadata={"joint": "knee", "side": "left", "sample_rate_hz": "1000"}))


def _best_wall_and_cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU time (s) of ``repeat`` calls: on a shared machine the wall clock also counts
    the time other processes held the core, the process's CPU time only its own."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu


def _child(paths: list[str], repeat: int) -> None:
    """Measure ``analyze_recording`` on each file with the ``analysis`` importable here; one JSON line per file."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import daq
    from analysis import analyze_recording
    from daq.recording import read_recording

    for name in paths:
        rec = read_recording(Path(name))
        args = (rec.time_s, rec.torque_nm, rec.position_deg, rec.velocity_dps)
        result = analyze_recording(*args, joint="knee")  # imports and first-call costs out of the figure
        wall, cpu = _best_wall_and_cpu(functools.partial(analyze_recording, *args, joint="knee"), repeat)
        print(json.dumps({"samples": len(rec), "reps": sum(s.metrics.repetitions for s in result.sets),
                          "analysis_s": wall, "analysis_cpu_s": cpu,
                          "packages": str(Path(daq.__file__).resolve().parents[1])}), flush=True)


def _best_rows(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each file's best figures over the rounds."""
    return [{k: (min(r[i][k] for r in rounds) if k.endswith("_s") else rounds[0][i][k]) for k in rounds[0][i]}
            for i in range(len(rounds[0]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV's analysis and daq")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure this tree and the baseline's this many times, alternately (best of all)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.repeat)
        return
    print(f"load average at the start: {baseline.loadavg()}")
    block = _block()
    script = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for minutes in args.minutes:
            paths.append(Path(tmp) / f"bench_{minutes:g}min.csv")
            _write(paths[-1], minutes, block)
        base_tree = baseline.export(args.baseline, ["analysis", "daq", "firmware_protocols"], Path(tmp)) if args.baseline else None
        ours: list[list[dict[str, Any]]] = []
        theirs: list[list[dict[str, Any]]] = []
        child_args = [*map(str, paths), "--repeat", str(args.repeat)]
        for _ in range(args.rounds):
            ours.append(baseline.run_child(script, child_args, REPO))
            if base_tree:
                theirs.append(baseline.run_child(script, child_args, base_tree))
        current = _best_rows(ours)
        old_rows = _best_rows(theirs) if theirs else None
        for minutes, path, row in zip(args.minutes, paths, current):
            print(f"{minutes:5.0f} min  {row['samples']:>9,d} samples  {row['reps']:5d} reps  "
                  f"{path.stat().st_size / 1e6:6.1f} MB  analysis {row['analysis_s']:6.3f} s (CPU {row['analysis_cpu_s']:6.3f} s)")
    if len(current) > 1:
        first, last = current[0], current[-1]
        print(f"growth {args.minutes[0]:g} -> {args.minutes[-1]:g} min (x{last['samples'] / first['samples']:.1f} samples): "
              f"analysis x{last['analysis_s'] / first['analysis_s']:.2f} (CPU x{last['analysis_cpu_s'] / first['analysis_cpu_s']:.2f})")
    for minutes, row in zip(args.minutes, current):
        per_hour = {label: row[key] * 60.0 / minutes for label, key in (("CPU", "analysis_cpu_s"), ("wall", "analysis_s"))}
        verdicts = ", ".join(f"{label} {value:.3f} s {'met' if value < TARGET_S_PER_HOUR else 'MISSED'} "
                             f"({value / TARGET_S_PER_HOUR:.0%})" for label, value in per_hour.items())
        print(f"{minutes:5.0f} min  analysis per hour of recording against the target of {TARGET_S_PER_HOUR:g} s "
              f"(one core): {verdicts}")
    if old_rows:
        for minutes, new, old in zip(args.minutes, current, old_rows):
            print(f"{minutes:5.0f} min vs {args.baseline}: analysis CPU {old['analysis_cpu_s']:6.3f} -> "
                  f"{new['analysis_cpu_s']:6.3f} s (x{old['analysis_cpu_s'] / new['analysis_cpu_s']:.2f} faster), "
                  f"wall {old['analysis_s']:6.3f} -> {new['analysis_s']:6.3f} s (x{old['analysis_s'] / new['analysis_s']:.2f} faster)")
    print(f"load average at the end: {baseline.loadavg()}")


if __name__ == "__main__":
    main()
