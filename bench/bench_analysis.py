"""Benchmark: analysing and loading long 1 kHz recordings (10 minutes to 1 hour), on one core.

Builds a recording by repeating simulated knee sets (con/con at 60, 180 and 300 deg/s with
rests, from ``simulators.model``), writes it as a recording CSV per length in a temporary
folder, then measures in a worker process pinned to one core (best of ``--repeat``):

- ``analyze_recording`` alone (samples already in memory);
- ``daq.recording.read_recording`` of the CSV, against ``numpy.loadtxt`` of the same file.

The analysis is measured again ``--rounds`` times (default 3), this tree's and the
baseline's in turn, so both meet the same load on a shared machine; its figures are the
best wall-clock time and the best CPU time of the worker (the wall clock also counts the
time other processes held the core). Prints one line per length and the growth from the
shortest to the longest, so linearity can be read off, then each length's analysis against
the target (not asserted): one hour under 1 s on one core (:data:`TARGET_S_PER_HOUR`; shorter
recordings' times are scaled to an hour); loading is to come close to numpy's own reader. With ``--baseline REV`` the same files are also measured with the
``analysis`` and ``daq`` packages of git revision REV, in the same run, and the ratios
printed. Run: ``python bench/bench_analysis.py [--minutes 10 30 60] [--baseline 74f3882]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
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


def _best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best_wall_and_cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU time (s) of ``repeat`` calls: on a shared machine the wall clock also counts
    the time other processes held the core, the process's CPU time only its own."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu


def _analysis_worker(paths: list[str], repeat: int) -> None:
    """Measure ``analyze_recording`` on each file with the ``analysis`` importable here; one JSON line per file."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from analysis import analyze_recording
    from daq.recording import read_recording

    for name in paths:
        rec = read_recording(Path(name))
        args = (rec.time_s, rec.torque_nm, rec.position_deg, rec.velocity_dps)
        analyze_recording(*args, joint="knee")  # imports and first-call costs out of the figure
        wall, cpu = _best_wall_and_cpu(functools.partial(analyze_recording, *args, joint="knee"), repeat)
        print(json.dumps({"analysis_s": wall, "analysis_cpu_s": cpu}), flush=True)


def _measure_analysis(tree: Path, paths: list[Path], repeat: int) -> list[dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--analysis-worker", *map(str, paths),
                          "--repeat", str(repeat)], env=env, cwd=tree, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def _best_rows(rounds: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Each file's best figures over the rounds."""
    return [{k: min(r[i][k] for r in rounds) for k in rounds[0][i]} for i in range(len(rounds[0]))]


def _header_lines(path: Path) -> int:
    """Lines up to and including the column header."""
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if line.startswith("time_s,"):
                return i
    raise ValueError(f"{path}: no header")


def _worker(paths: list[str], repeat: int) -> None:
    """Measure each file with the ``analysis`` and ``daq`` importable here; one JSON line per file."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from analysis import analyze_recording
    from daq.recording import read_recording

    for name in paths:
        path = Path(name)
        rec = read_recording(path)
        args = (rec.time_s, rec.torque_nm, rec.position_deg, rec.velocity_dps)
        reps = sum(s.metrics.repetitions for s in analyze_recording(*args, joint="knee").sets)
        head = _header_lines(path)
        row = {
            "samples": len(rec),
            "reps": reps,
            "analysis_s": _best_of(lambda args=args: analyze_recording(*args, joint="knee"), repeat),
            "load_s": _best_of(lambda path=path: read_recording(path), repeat),
            "numpy_s": _best_of(lambda path=path, head=head: np.loadtxt(path, delimiter=",", comments="#", skiprows=head,
                                                                        dtype=np.float64, ndmin=2), repeat),
        }
        print(json.dumps(row), flush=True)


def _measure(tree: Path, paths: list[Path], repeat: int) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", *map(str, paths),
                          "--repeat", str(repeat)], env=env, cwd=tree, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def _extract(rev: str, into: Path) -> Path:
    """The ``analysis`` and ``daq`` packages (and what they import) of git revision ``rev``."""
    archive = into / "baseline.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, "analysis", "daq", "firmware_protocols"], stdout=f, check=True)
    tree = into / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV's analysis and daq")
    parser.add_argument("--rounds", type=int, default=3,
                        help="analysis: measure this tree and the baseline's this many times, alternately (best of all)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--analysis-worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.repeat)
        return
    if args.analysis_worker:
        _analysis_worker(args.analysis_worker, args.repeat)
        return
    block = _block()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for minutes in args.minutes:
            paths.append(Path(tmp) / f"bench_{minutes:g}min.csv")
            _write(paths[-1], minutes, block)
        current = _measure(REPO, paths, args.repeat)
        base_tree = _extract(args.baseline, Path(tmp)) if args.baseline else None
        baseline = _measure(base_tree, paths, args.repeat) if base_tree else None
        # the analysis again, this tree and the baseline's in turn, so that both meet the same load on a shared machine
        ours: list[list[dict[str, float]]] = []
        theirs: list[list[dict[str, float]]] = []
        for _ in range(args.rounds):
            ours.append(_measure_analysis(REPO, paths, args.repeat))
            if base_tree:
                theirs.append(_measure_analysis(base_tree, paths, args.repeat))
        for rows, rounds in ((current, ours), (baseline, theirs)):
            for row, best in zip(rows or [], _best_rows(rounds) if rounds else []):
                row["analysis_s"] = min(row["analysis_s"], best["analysis_s"])
                row["analysis_cpu_s"] = best["analysis_cpu_s"]
        for minutes, path, row in zip(args.minutes, paths, current):
            print(f"{minutes:5.0f} min  {row['samples']:>9,d} samples  {row['reps']:5d} reps  "
                  f"{path.stat().st_size / 1e6:6.1f} MB  analysis {row['analysis_s']:6.3f} s  "
                  f"load {row['load_s']:6.3f} s  numpy.loadtxt {row['numpy_s']:6.3f} s  "
                  f"(load / numpy {row['load_s'] / row['numpy_s']:4.2f})")
    if len(current) > 1:
        first, last = current[0], current[-1]
        print(f"growth {args.minutes[0]:g} -> {args.minutes[-1]:g} min (x{last['samples'] / first['samples']:.1f} samples): "
              f"analysis x{last['analysis_s'] / first['analysis_s']:.2f} (CPU x{last['analysis_cpu_s'] / first['analysis_cpu_s']:.2f}), load x{last['load_s'] / first['load_s']:.2f}, "
              f"numpy.loadtxt x{last['numpy_s'] / first['numpy_s']:.2f}")
    for minutes, row in zip(args.minutes, current):
        per_hour = {label: row[key] * 60.0 / minutes for label, key in (("CPU", "analysis_cpu_s"), ("wall", "analysis_s"))}
        verdicts = ", ".join(f"{label} {value:.3f} s {'met' if value < TARGET_S_PER_HOUR else 'MISSED'} "
                             f"({value / TARGET_S_PER_HOUR:.0%})" for label, value in per_hour.items())
        print(f"{minutes:5.0f} min  analysis per hour of recording against the target of {TARGET_S_PER_HOUR:g} s "
              f"(one core): {verdicts}")
    if baseline:
        for minutes, new, old in zip(args.minutes, current, baseline):
            print(f"{minutes:5.0f} min vs {args.baseline}: analysis CPU {old['analysis_cpu_s']:6.3f} -> "
                  f"{new['analysis_cpu_s']:6.3f} s (x{old['analysis_cpu_s'] / new['analysis_cpu_s']:.2f} faster), "
                  f"wall {old['analysis_s']:6.3f} -> {new['analysis_s']:6.3f} s "
                  f"(x{old['analysis_s'] / new['analysis_s']:.2f} faster), load {old['load_s']:6.3f} -> {new['load_s']:6.3f} s "
                  f"(x{old['load_s'] / new['load_s']:.2f} faster; numpy.loadtxt {new['numpy_s']:.3f} s)")


if __name__ == "__main__":
    main()
