"""Session report under load while a 1 kHz trial records, against /health on the same server.

One command::

    python bench/bench_api_report.py [--baseline REV] [--database URL] [--clients 20] [--requests 200]
                                     [--seconds 10] [--trials 20] [--kill]

It starts a real ``isokin serve`` (SQLite in a temporary data directory unless
``--database`` is given; the acquisition in its own process, as always) with the simulator
at real time, imports ``--trials`` knee sets (simulated, 1 kHz, left and right in turn) into
a session so its report has figures, ratios and deficits, then starts a 1 kHz knee trial on
the simulator in the same session. While that trial records, ``--clients`` concurrent
clients (threads, one keep-alive connection each, loopback only) send ``GET /api/v1/health``,
then ``GET /api/v1/sessions/{id}/report``: each client stops after ``--requests`` requests or
``--seconds`` seconds. Then one client sends ``--cpu-requests`` /health requests in a row,
without and with a token, and the server's CPU time (``/proc``) per request is taken, with
the acquisition process's CPU over its own rate at rest. Once the trial has completed, its
samples stored are compared with the samples the simulator played (gaps and lost samples
count as lost). With ``--kill`` the server and its acquisition process are SIGKILLed after the
load instead (a whole-station crash), and the bench prints how far the newest stored sample
was behind the kill (the simulator runs at real time, so ``started_at + time_s`` is wall time).

With ``--baseline REV`` the same run is made first on a server of that git revision
(``git archive`` unpacked in a temporary directory, put first on ``PYTHONPATH``), and the
figures are printed side by side with the targets (issue 12): report p50 within 2x /health's
p50 of the same run, the recording's longest interval between two commits under 250 ms,
0 samples lost, /health well under 1 ms of the server's CPU without a token. Exit status 0
when this tree meets them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import baseline
import httpx
import numpy as np
from sqlalchemy import select

from api.storage.database import Database
from api.storage.models import SampleChunk, Trial
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, default_profile, simulate_set
from simulators.source import chunk_seed

SEED = 1
KNEE = default_profile().pattern("knee", "flexion/extension")


@dataclass(frozen=True)
class Load:
    """Latencies (s) of the successful requests of one phase, its errors and its wall time (s)."""

    latencies_s: list[float]
    errors: int
    wall_s: float

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.wall_s


def _isokin(tree: Path | None) -> tuple[list[str], dict[str, str]]:
    """The command running ``isokin`` from ``tree`` (an unpacked revision) or from this checkout, and its environment."""
    command = [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())"]
    if tree is None:
        return command, {}
    return command, {"PYTHONPATH": str(tree)}  # before the editable install's path: that revision's packages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _simulated(side: str, repetitions: int, seed: int) -> SimulatedSet:
    protocol = SetProtocol(joint="knee", pattern="flexion/extension", side=side, mode="con/con",
                           velocity_dps=(60.0, 60.0), repetitions=repetitions, rom_deg=(0.0, 90.0))  # fmt: skip
    return simulate_set(default_profile(), protocol, sample_rate_hz=1000.0, seed=seed)


def _hammer(base: str, path: str, token: str, *, clients: int, requests: int, seconds: float) -> Load:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client() -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            for _ in range(requests):
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                ok = http.get(path).status_code == 200
                if ok:
                    mine.append(time.perf_counter() - t0)
                else:
                    failed += 1
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(latencies, errors, time.perf_counter() - start)


def _setup(http: httpx.Client, tmp: Path, trials: int) -> int:
    subject = http.post("/subjects", json={"code": "BENCH-01", "sex": "male", "birth_year": 1990, "body_mass_kg": 75})
    session_id = int(http.post("/sessions", json={"subject_id": subject.json()["id"]}).json()["id"])
    for k in range(trials):
        side = ("left", "right")[k % 2]
        sim = _simulated(side, 5, seed=10 + k)
        metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": "60", "repetitions": "5",
                    "gravity_torque_nm": str(KNEE.gravity_torque_nm), "horizontal_angle_deg": str(KNEE.horizontal_angle_deg)}  # fmt: skip
        path = tmp / f"{side}.csv"
        write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
        r = http.post(f"/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())})
        r.raise_for_status()
    return session_id


def _report_line(name: str, load: Load) -> str:
    return (f"{name:8s} {len(load.latencies_s):6d} ok {load.errors:4d} errors  p50 {load.percentile_ms(50):8.2f} ms  "
            f"p99 {load.percentile_ms(99):8.2f} ms  {load.throughput:8.1f} req/s")  # fmt: skip


@dataclass
class Run:
    """The figures of one server (one source tree) under the load."""

    health: Load
    report: Load
    #: CPU time per /health request, ms: (server, acquisition process), without and with a token.
    health_cpu_ms: dict[str, tuple[float, float]]
    longest_commit_gap_s: float
    spans_s: np.ndarray
    state_during: str
    lost: int | None = None
    ending: str = ""
    kill_lag_s: float | None = None


def _cpu_s(pid: int) -> float:
    """User + system CPU time of a process, s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _acquisition_pid(server_pid: int) -> int | None:
    """The server's acquisition process (a spawned child that is not multiprocessing's resource tracker)."""
    for child in Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in command and b"resource_tracker" not in command:
            return int(child)
    return None


def _health_cpu_ms(base: str, server_pid: int, headers: dict[str, str], requests: int) -> tuple[float, float]:
    """CPU per /health request, ms, of the server and of its acquisition process (over its own CPU at rest)."""
    child = _acquisition_pid(server_pid)
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        http.get("/health").raise_for_status()
        rest_s = 1.0
        c0, t0 = (_cpu_s(child) if child else 0.0), time.perf_counter()
        time.sleep(rest_s)
        child_rate = ((_cpu_s(child) if child else 0.0) - c0) / (time.perf_counter() - t0)
        s0, c0, t0 = _cpu_s(server_pid), (_cpu_s(child) if child else 0.0), time.perf_counter()
        for _ in range(requests):
            http.get("/health").raise_for_status()
        wall = time.perf_counter() - t0
        server = _cpu_s(server_pid) - s0
        acquisition = (_cpu_s(child) if child else 0.0) - c0 - child_rate * wall
    return 1000 * server / requests, max(0.0, 1000 * acquisition / requests)


def run(tree: Path | None, args: argparse.Namespace, name: str) -> Run:
    """Start a server from ``tree`` (``None``: this checkout), load it while a trial records, and measure."""
    tmp = Path(tempfile.mkdtemp(prefix="isokin-bench-"))
    command, extra = _isokin(tree)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")} | extra | {"ISOKIN_DATA_DIR": str(tmp)}
    if args.database:
        env["ISOKIN_DATABASE_URL"] = args.database
    created = subprocess.run([*command, "token", "create", "--role", "operator", "--name", "bench"],
                             env=env, capture_output=True, text=True, check=True, cwd=tmp)  # fmt: skip
    token = created.stdout.split()[-1]
    port = _free_port()
    log = open(tmp / "serve.log", "w+")
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--device", f"sim://?speed=1&seed={SEED}", "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    url = args.database or f"sqlite:///{tmp / 'isokin.db'}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/health").json()["device"]["state"] == "connected":
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"isokin serve did not come up with its device:\n{log.read()}")
                time.sleep(0.2)
            session_id = _setup(http, tmp, args.trials)
            trial = http.post(f"/sessions/{session_id}/trials", json={
                "joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": args.repetitions,
                "rom_min_deg": 0, "rom_max_deg": 90, "sample_rate_hz": 1000})  # fmt: skip
            trial.raise_for_status()
            trial_id = trial.json()["id"]
            http.get(f"/sessions/{session_id}/report").raise_for_status()  # analyses the imported trials once
            http.post(f"/trials/{trial_id}/start").raise_for_status()
            started = time.monotonic()
            print(f"{name}: server {base} ({args.database or 'SQLite'}), {args.trials} trials in the session, trial "
                  f"{trial_id} recording at 1 kHz, {args.clients} clients x at most {args.requests} requests or "
                  f"{args.seconds:g} s per endpoint")  # fmt: skip
            loads = {}
            for phase, path in (("health", "/health"), ("report", f"/sessions/{session_id}/report")):
                loads[phase] = _hammer(base, path, token, clients=args.clients, requests=args.requests, seconds=args.seconds)
                print(f"  {_report_line(phase, loads[phase])}  (at {time.monotonic() - started:.0f} s of the trial)")
            during = http.get(f"/trials/{trial_id}").json()["state"]
            longest = float(http.get(f"/trials/{trial_id}/live").json()["longest_flush_interval_s"])
            if during != "recording":
                raise SystemExit(f"{name}: the trial ended before the load did; give more --repetitions")
            if args.kill:  # the server with its acquisition process: a whole-station crash
                os.killpg(server.pid, signal.SIGKILL)
                killed_at = time.time()
                server.wait()
                return Run(loads["health"], loads["report"], {}, longest, _commit_spans_s(url, trial_id), during,
                           kill_lag_s=killed_at - _newest_stored_s(url, trial_id))  # fmt: skip
            cpu = {who: _health_cpu_ms(base, server.pid, headers, args.cpu_requests)
                   for who, headers in (("anonymous", {}), ("token", auth))}  # fmt: skip
            print(f"  CPU per /health request measured (until {time.monotonic() - started:.0f} s of the trial)")
            while (state := http.get(f"/trials/{trial_id}").json())["state"] == "recording":
                time.sleep(0.5)
        played = len(_simulated("left", args.repetitions, seed=chunk_seed(SEED, 0)).time_s)
        figures = state["acquisition"]
        lost = played - figures["samples"] + figures["lost_samples"] + figures["gaps"]
        ending = (f"{state['state']} ({state['end_reason'] or state['interrupted_reason']}), {figures['samples']} samples "
                  f"stored of {played} played, gaps {figures['gaps']}, lost {figures['lost_samples']}, "
                  f"crc errors {figures['crc_errors']}")  # fmt: skip
        return Run(loads["health"], loads["report"], cpu, longest, _commit_spans_s(url, trial_id), during, lost, ending)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _figures(name: str, r: Run) -> list[tuple[str, float, str]]:
    """(figure, value, text) of a run, for the table."""
    ratio = r.report.percentile_ms(50) / r.health.percentile_ms(50)
    rows = [
        ("health p50 ms", r.health.percentile_ms(50), f"{r.health.percentile_ms(50):.1f}"),
        ("report p50 ms", r.report.percentile_ms(50), f"{r.report.percentile_ms(50):.1f}"),
        ("report p99 ms", r.report.percentile_ms(99), f"{r.report.percentile_ms(99):.1f}"),
        ("report p50 / health p50", ratio, f"x{ratio:.2f}"),
        ("report req/s", r.report.throughput, f"{r.report.throughput:.1f}"),
        ("longest commit gap ms", 1000 * r.longest_commit_gap_s, f"{1000 * r.longest_commit_gap_s:.0f}"),
    ]
    for who, (server_ms, acquisition_ms) in r.health_cpu_ms.items():
        rows.append((f"/health CPU ms ({who})", server_ms, f"{server_ms:.2f} + {acquisition_ms:.2f} acq."))
    if r.kill_lag_s is not None:
        rows.append(("newest sample before kill ms", 1000 * r.kill_lag_s, f"{1000 * r.kill_lag_s:.0f}"))
    else:
        rows.append(("samples lost", float(r.lost or 0), f"{r.lost}"))
    return rows


#: figure -> (limit, whether the limit itself passes, the target as printed).
TARGETS = {
    "report p50 / health p50": (2.0, True, "<= x2"),
    "longest commit gap ms": (250.0, False, "< 250"),
    "/health CPU ms (anonymous)": (1.0, False, "well < 1 (server)"),
    "samples lost": (0.0, True, "0"),
    "newest sample before kill ms": (250.0, False, "< 250"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=200, help="most requests per client and endpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="longest phase per endpoint, s")
    parser.add_argument("--repetitions", type=int, default=16, help="repetitions of the recorded trial (about 3.5 s each)")
    parser.add_argument("--trials", type=int, default=20, help="imported trials in the reported session")
    parser.add_argument("--cpu-requests", type=int, default=200, help="sequential /health requests timed for their CPU")
    parser.add_argument("--baseline", metavar="REV", help="also run a server of this git revision first (git archive)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the server after the report load; print what it lost")
    args = parser.parse_args()

    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="isokin-baseline-") as scratch:
        if args.baseline:
            runs[f"baseline {args.baseline}"] = run(baseline.export(args.baseline, ["api", "analysis", "daq", "firmware_protocols", "simulators"], Path(scratch)), args, f"baseline {args.baseline}")
        runs["this tree"] = run(None, args, "this tree")
    for name, r in runs.items():
        print(f"{name}: recording under the load: commits every {np.median(r.spans_s) * 1000:.0f} ms of device time "
              f"(p99 {np.percentile(r.spans_s, 99) * 1000:.0f} ms, max {r.spans_s.max() * 1000:.0f} ms); "
              f"{r.ending or 'killed'}")  # fmt: skip
    names = list(runs)
    table = {name: _figures(name, r) for name, r in runs.items()}
    print(f"{'figure':32s}" + "".join(f"{n:>22s}" for n in names) + f"{'target':>20s}  met")
    ok = True
    for i, (figure, value, _) in enumerate(table["this tree"]):
        target = TARGETS.get(figure)
        met = ""
        if target is not None:
            limit, inclusive, _ = target
            passed = value <= limit if inclusive else value < limit
            ok &= passed
            met = "yes" if passed else "NO"
        cells = "".join(f"{table[n][i][2]:>22s}" for n in names)
        print(f"{figure:32s}{cells}{(target[2] if target else ''):>20s}  {met}")
    return 0 if ok else 1


def _commit_spans_s(url: str, trial_id: int) -> np.ndarray:
    """Device-time span of each stored chunk of the trial (one chunk per commit), s."""
    database = Database(url)
    try:
        with database.session() as session:
            query = select(SampleChunk.last_time_s).where(SampleChunk.trial_id == trial_id).order_by(SampleChunk.chunk_index)
            return np.diff([0.0, *session.scalars(query)])
    finally:
        database.close()


def _newest_stored_s(url: str, trial_id: int) -> float:
    """Wall time (s since the epoch) of the newest stored sample: ``started_at + duration_s`` at real-time speed."""
    database = Database(url)
    try:
        with database.session() as session:
            trial = session.get(Trial, trial_id)
            assert trial is not None and trial.started_at is not None
            return (trial.started_at + dt.timedelta(seconds=trial.duration_s or 0.0)).timestamp()
    finally:
        database.close()


if __name__ == "__main__":
    sys.exit(main())
