"""Benchmark: loading a 1 h, 1 kHz recording CSV the way users do, against ``numpy.loadtxt``.

Writes a recording CSV of ``--minutes`` (default 60) of simulated knee sets at 1 kHz (built by
``bench_analysis``: con/con at 60, 180 and 300 deg/s with rests, repeated; about 140 MB for an
hour) in a temporary folder, then measures each path in a fresh child process (its own peak RSS),
best of ``--repeat`` for the time:

- ``numpy.loadtxt`` of the same file: the time baseline;
- ``daq.recording.read_recording(path)``: the reader alone;
- ``daq.importers.load_recording(path)``: the importer entry point ``isokin analyze`` goes
  through (format detection, then the reader), up to the ``Recording``;
- the whole ``isokin analyze FILE --json`` command (unless ``--no-cli``): its wall time and its
  peak RSS, read with ``resource.getrusage(RUSAGE_CHILDREN)`` by a process that ran only it.

Peak memory is the process's peak RSS (interpreter and imports included) as a multiple of the
file's size; target under 3x for ``load_recording`` and ``isokin analyze``. Time is the ratio to
``numpy.loadtxt`` measured in the same run; target at most 1.3x for ``read_recording`` and
``load_recording``. With ``--baseline REV`` the same paths are also measured with the ``api``,
``analysis``, ``daq`` and ``firmware_protocols`` packages of git revision REV (exported with
``git archive``), in the same run. Nothing is asserted: the figures are printed with their targets.

Run: ``python bench/bench_loading.py [--minutes 60] [--repeat 3] [--baseline 9cded4a] [--no-cli]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "analysis", "daq", "firmware_protocols")
MEMORY_TARGET = 3.0  # peak RSS / file size
TIME_TARGET = 1.3  # load time / numpy.loadtxt time


def _peak_rss_bytes() -> int:
    """This process's peak RSS since it started (``VmHWM``: unlike ``ru_maxrss``, not inherited through fork)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def _load_worker(path: Path, how: str, repeat: int) -> dict[str, Any]:
    """Time one loading path (best of ``repeat``); the peak RSS is the process's after the first load."""
    import numpy as np

    if how == "loadtxt":
        with open(path, encoding="utf-8") as f:
            skip = next(i for i, line in enumerate(f, start=1) if line.startswith("time_s,"))

        def load() -> object:
            return np.loadtxt(path, delimiter=",", comments="#", skiprows=skip, dtype=np.float64, ndmin=2)
    elif how == "read_recording":
        from daq.recording import read_recording

        def load() -> object:
            return read_recording(path)
    else:
        from daq.importers import load_recording

        def load() -> object:
            return load_recording(path)

    imports_rss = _peak_rss_bytes()
    times = []
    peak = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        load()
        times.append(time.perf_counter() - t0)
        peak = peak or _peak_rss_bytes()
    return {"time_s": min(times), "peak_rss": peak, "imports_rss": imports_rss}


def _cli_worker(path: Path) -> dict[str, Any]:
    """Run ``isokin analyze FILE --json`` of the tree on PYTHONPATH as this process's only child."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())", "analyze",
                    str(path), "--json"], check=True, stdout=subprocess.DEVNULL)
    return {"time_s": time.perf_counter() - t0, "peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}


def _measure(tree: Path, path: Path, how: str, repeat: int) -> dict[str, Any]:
    """One measurement in a fresh process importing the packages of ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", how, str(path),
                          "--repeat", str(repeat)], env=env, cwd=tree, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _extract(rev: str, into: Path) -> Path:
    """The packages of git revision ``rev`` in a folder of their own."""
    archive = into / "baseline.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, *PACKAGES], stdout=f, check=True)
    tree = into / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV's packages")
    parser.add_argument("--no-cli", action="store_true", help="skip the whole 'isokin analyze' command")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        how, name = args.worker
        row = _cli_worker(Path(name)) if how == "cli" else _load_worker(Path(name), how, args.repeat)
        print(json.dumps(row), flush=True)
        return
    print(f"load: {open('/proc/loadavg').read().strip()}" if os.path.exists("/proc/loadavg") else "load: unknown")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_analysis import _block, _write  # the same recording as the analysis benchmark

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench_{args.minutes:g}min.csv"
        _write(path, args.minutes, _block())
        size = path.stat().st_size
        trees = [("this tree", REPO)]
        if args.baseline:
            trees.append((args.baseline, _extract(args.baseline, Path(tmp))))
        first = _measure(REPO, path, "loadtxt", args.repeat)
        rows: list[tuple[str, dict[str, Any], bool, bool]] = []
        for label, tree in trees:
            rows.append((f"read_recording ({label})", _measure(tree, path, "read_recording", args.repeat), True, False))
            rows.append((f"load_recording ({label})", _measure(tree, path, "load_recording", args.repeat), True, True))
            if not args.no_cli:
                rows.append((f"isokin analyze ({label})", _measure(tree, path, "cli", 1), False, True))
        last = _measure(REPO, path, "loadtxt", args.repeat)  # before and after the others: the machine's load drifts
        numpy_s = min(first, last, key=lambda row: row["time_s"])
    print(f"{args.minutes:g} min at 1 kHz: {size / 1e6:.1f} MB recording CSV; targets: time <= {TIME_TARGET}x "
          f"numpy.loadtxt (the loaders), peak RSS < {MEMORY_TARGET}x the file (load_recording, isokin analyze)")
    print(f"{'path':34s} {'time':>8s} {'/ loadtxt':>10s}        {'peak RSS':>9s} {'/ file':>7s}         imports")
    for label, row, time_target, memory_target in [("numpy.loadtxt", numpy_s, False, False), *rows]:
        ratio = row["time_s"] / numpy_s["time_s"]
        multiple = row["peak_rss"] / size
        imports = f"{row['imports_rss'] / 1e6:5.0f}MB" if "imports_rss" in row else ""
        ratio_text = f"{ratio:9.2f}x {_verdict(ratio <= TIME_TARGET) if time_target else '':6s}" if "imports_rss" in row else " " * 17
        print(f"{label:34s} {row['time_s']:7.3f}s {ratio_text} "
              f"{row['peak_rss'] / 1e6:7.0f}MB {multiple:6.2f}x {_verdict(multiple < MEMORY_TARGET) if memory_target else '':6s} "
              f"{imports}")
    print(f"numpy.loadtxt before and after: {first['time_s']:.3f} s, {last['time_s']:.3f} s")
    print(f"load: {open('/proc/loadavg').read().strip()}" if os.path.exists("/proc/loadavg") else "load: unknown")

if __name__ == "__main__":
    main()
