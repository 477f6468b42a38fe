"""Benchmark: loading a 1 h, 1 kHz recording CSV the way users do, against ``numpy.loadtxt``.

Writes a recording CSV of ``--minutes`` (default 60) of simulated knee sets at 1 kHz (built by
``bench_analysis``: con/con at 60, 180 and 300 deg/s with rests, repeated; about 140 MB for an
hour) in a temporary folder, then measures, each in a fresh child process:

- ``numpy.loadtxt`` of the same file: the baseline;
- ``daq.recording.read_recording(path)``: the reader alone;
- ``daq.importers.load_recording(path)``: the importer entry point ``isokin analyze`` goes
  through (format detection, then the reader), up to the ``Recording``;
- the whole ``isokin analyze FILE --json`` command (unless ``--no-cli``): its wall time and its
  peak RSS, read with ``resource.getrusage(RUSAGE_CHILDREN)`` by a process that ran only it.

Time: best of ``--repeat`` for the loader and for ``numpy.loadtxt``, taken in turns in one process
pinned to one core (the machine's load drifts between processes), printed as their ratio; target at
most 1.3x for ``read_recording`` and ``load_recording``. Memory: the peak RSS (``VmHWM``,
interpreter and imports included) of a process that loads the file once, as a multiple of the
file's size; target under 3x for ``load_recording`` and ``isokin analyze``. With ``--baseline REV``
the same paths are also measured with the ``api``, ``analysis``, ``daq`` and ``firmware_protocols``
packages of git revision REV (exported with ``git archive``), in the same run. The machine's load
is printed before and after. Nothing is asserted: the figures are printed with their targets.

Run: ``python bench/bench_loading.py [--minutes 60] [--repeat 5] [--baseline 9cded4a] [--no-cli]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import baseline
from baseline import REPO

PACKAGES = ("api", "analysis", "daq", "firmware_protocols")
MEMORY_TARGET = 3.0  # peak RSS / file size
TIME_TARGET = 1.3  # load time / numpy.loadtxt time


def _peak_rss_bytes() -> int:
    """This process's peak RSS since it started (``VmHWM``: unlike ``ru_maxrss``, not inherited through fork)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def _loader(how: str, path: Path) -> Callable[[], object]:
    """A function loading ``path`` one way (``loadtxt``, ``read_recording`` or ``load_recording``)."""
    import numpy as np

    if how == "read_recording":
        from daq.recording import read_recording

        return lambda: read_recording(path)
    if how == "load_recording":
        from daq.importers import load_recording

        return lambda: load_recording(path)
    with open(path, encoding="utf-8") as f:
        skip = next(i for i, line in enumerate(f, start=1) if line.startswith("time_s,"))
    return lambda: np.loadtxt(path, delimiter=",", comments="#", skiprows=skip, dtype=np.float64, ndmin=2)


def _memory_worker(path: Path, how: str) -> dict[str, Any]:
    """Peak RSS of a fresh process loading ``path`` once, and its peak before the load (the imports)."""
    load = _loader(how, path)
    imports_rss = _peak_rss_bytes()
    load()
    return {"peak_rss": _peak_rss_bytes(), "imports_rss": imports_rss}


def _time_worker(path: Path, how: str, repeat: int) -> dict[str, Any]:
    """Best of ``repeat`` for ``how`` and for ``numpy.loadtxt``, taken in turns on one core (the load drifts)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    load, reference = _loader(how, path), _loader("loadtxt", path)
    times: dict[str, list[float]] = {"time_s": [], "loadtxt_s": []}
    for _ in range(repeat):
        for key, fn in (("loadtxt_s", reference), ("time_s", load)):
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    return {key: min(values) for key, values in times.items()}


def _cli_worker(path: Path) -> dict[str, Any]:
    """Run ``isokin analyze FILE --json`` of the tree on PYTHONPATH as this process's only child."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())", "analyze",
                    str(path), "--json"], check=True, stdout=subprocess.DEVNULL)
    return {"time_s": time.perf_counter() - t0, "peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}


def _measure(tree: Path, path: Path, what: str, how: str, repeat: int = 1) -> dict[str, Any]:
    """One measurement (``what``: time, memory or cli) in a fresh process importing the packages of ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", what, how, str(path),
                          "--repeat", str(repeat)], env=env, cwd=tree, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV's packages")
    parser.add_argument("--no-cli", action="store_true", help="skip the whole 'isokin analyze' command")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        what, how, name = args.worker
        if what == "cli":
            row = _cli_worker(Path(name))
        elif what == "memory":
            row = _memory_worker(Path(name), how)
        else:
            row = _time_worker(Path(name), how, args.repeat)
        print(json.dumps(row), flush=True)
        return
    print(f"load before: {_loadavg()}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_analysis import _block, _write  # the same recording as the analysis benchmark

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench_{args.minutes:g}min.csv"
        _write(path, args.minutes, _block())
        size = path.stat().st_size
        trees = [("this tree", REPO)]
        if args.baseline:
            trees.append((args.baseline, baseline.export(args.baseline, list(PACKAGES), Path(tmp))))
        rows: list[tuple[str, dict[str, Any] | None, dict[str, Any], bool]] = [
            ("numpy.loadtxt", None, _measure(REPO, path, "memory", "loadtxt"), False)
        ]
        for label, tree in trees:
            for how in ("read_recording", "load_recording"):
                timed = _measure(tree, path, "time", how, args.repeat)
                rows.append((f"{how} ({label})", timed, _measure(tree, path, "memory", how), how == "load_recording"))
            if not args.no_cli:
                cli = _measure(tree, path, "cli", "analyze")
                rows.append((f"isokin analyze ({label})", None, cli, True))
    print(f"{args.minutes:g} min at 1 kHz: {size / 1e6:.1f} MB recording CSV. Targets: time <= {TIME_TARGET}x "
          f"numpy.loadtxt (best of {args.repeat}, in turns in one process on one core); peak RSS < {MEMORY_TARGET}x "
          "the file (load_recording, isokin analyze)")
    print(f"{'path':34s} {'time':>7s} {'loadtxt':>8s} {'ratio':>7s} {'':6s} {'peak RSS':>9s} {'/ file':>7s} {'':6s} imports")
    for label, timing, memory, memory_target in rows:
        if timing:
            ratio = timing["time_s"] / timing["loadtxt_s"]
            time_text = (f"{timing['time_s']:6.3f}s {timing['loadtxt_s']:7.3f}s {ratio:6.2f}x "
                         f"{_verdict(ratio <= TIME_TARGET):6s}")
        elif "time_s" in memory:
            time_text = f"{memory['time_s']:6.3f}s" + " " * 24
        else:
            time_text = " " * 31
        multiple = memory["peak_rss"] / size
        imports = f"{memory['imports_rss'] / 1e6:5.0f}MB" if "imports_rss" in memory else ""
        print(f"{label:34s} {time_text} {memory['peak_rss'] / 1e6:7.0f}MB {multiple:6.2f}x "
              f"{_verdict(multiple < MEMORY_TARGET) if memory_target else '':6s} {imports}")
    print(f"load after: {_loadavg()}")


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return "unknown"

if __name__ == "__main__":
    main()
