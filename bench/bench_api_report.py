"""Session report under load while a 1 kHz trial records, against /health on the same server.

One command::

    python bench/bench_api_report.py [--database URL] [--clients 20] [--requests 200] [--seconds 10]
                                     [--trials 2] [--kill]

It starts a real ``isokin serve`` (SQLite in a temporary data directory unless
``--database`` is given) with the in-process simulator at real time, imports ``--trials``
knee sets (simulated, 1 kHz, left and right in turn) into a session so its report has
figures, ratios and deficits, then starts a 1 kHz knee trial on the simulator. While that
trial records, ``--clients`` concurrent clients (threads, one keep-alive connection each,
loopback only) send ``GET /api/v1/health``, then ``GET /api/v1/sessions/{id}/report``: each
client stops after ``--requests`` requests or ``--seconds`` seconds. It prints p50/p99
latency and throughput of each, the report's as ratios to /health, and the recording's
longest interval between two database commits and its commit grid (the device-time span of
each stored chunk) during the load; then, once the trial has completed, its acquisition
figures: samples stored against the samples the simulator played, gaps and lost samples,
which must be zero. With ``--kill`` the server and its acquisition process are SIGKILLed at the
end of the report load instead (a whole-station crash), and the bench prints how far the
newest stored sample was behind the kill (the simulator runs at real time, so a sample's
``started_at + time_s`` is wall time).
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


def _isokin() -> str:
    script = shutil.which("isokin", path=str(Path(sys.executable).parent)) or shutil.which("isokin")
    if script is None:
        raise SystemExit("the isokin console script is not installed: pip install -e '.[test]'")
    return script


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=200, help="most requests per client and endpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="longest phase per endpoint, s")
    parser.add_argument("--repetitions", type=int, default=12, help="repetitions of the recorded trial (about 3.5 s each)")
    parser.add_argument("--trials", type=int, default=2, help="imported trials in the reported session")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the server after the report load; print what it lost")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="isokin-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")} | {"ISOKIN_DATA_DIR": str(tmp)}
    if args.database:
        env["ISOKIN_DATABASE_URL"] = args.database
    created = subprocess.run([_isokin(), "token", "create", "--role", "operator", "--name", "bench"],
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
    token = created.stdout.split()[-1]
    port = _free_port()
    log = open(tmp / "serve.log", "w+")
    server = subprocess.Popen(
        [_isokin(), "serve", "--port", str(port), "--device", f"sim://?speed=1&seed={SEED}", "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
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
            http.post(f"/trials/{trial_id}/start").raise_for_status()
            print(f"server {base} ({args.database or 'SQLite'}), trial {trial_id} recording at 1 kHz, "
                  f"{args.clients} clients x at most {args.requests} requests or {args.seconds:g} s per endpoint")  # fmt: skip
            http.get(f"/sessions/{session_id}/report").raise_for_status()  # analyses the imported trials once
            loads = {}
            for name, path in (("health", "/health"), ("report", f"/sessions/{session_id}/report")):
                loads[name] = _hammer(base, path, token, clients=args.clients, requests=args.requests, seconds=args.seconds)
                print(_report_line(name, loads[name]))
            during = http.get(f"/trials/{trial_id}").json()["state"]
            longest = http.get(f"/trials/{trial_id}/live").json()["longest_flush_interval_s"]
            if args.kill:  # the server with its acquisition process: a whole-station crash
                if during != "recording":
                    raise SystemExit("--kill: the trial ended before the load did; give more --repetitions")
                os.killpg(server.pid, signal.SIGKILL)
                killed_at = time.time()
                server.wait()
            health, report = loads["health"], loads["report"]
            print(f"report / health: p50 x{report.percentile_ms(50) / health.percentile_ms(50):.1f}, "
                  f"p99 x{report.percentile_ms(99) / health.percentile_ms(99):.1f}, "
                  f"throughput x{report.throughput / health.throughput:.3f}"
                  f" (trial state after the load: {during})")  # fmt: skip
            spans = _commit_spans_s(args.database or f"sqlite:///{tmp / 'isokin.db'}", trial_id)
            print(f"recording under the load: longest interval between two commits {longest * 1000:.0f} ms; "
                  f"commits every {np.median(spans) * 1000:.0f} ms of device time (p99 {np.percentile(spans, 99) * 1000:.0f} ms, "
                  f"max {spans.max() * 1000:.0f} ms)")  # fmt: skip
            if args.kill:
                newest = _newest_stored_s(args.database or f"sqlite:///{tmp / 'isokin.db'}", trial_id)
                print(f"SIGKILL under the load: the newest stored sample was {(killed_at - newest) * 1000:.0f} ms "
                      "older than the kill")  # fmt: skip
                return 0 if killed_at - newest < 0.25 and longest < 0.25 else 1
            while (state := http.get(f"/trials/{trial_id}").json())["state"] == "recording":
                time.sleep(0.5)
        played = len(_simulated("left", args.repetitions, seed=chunk_seed(SEED, 0)).time_s)
        figures = state["acquisition"]
        lost = played - figures["samples"]
        print(f"trial {trial_id}: {state['state']} ({state['end_reason'] or state['interrupted_reason']}), "
              f"{figures['samples']} samples stored of {played} played, gaps {figures['gaps']}, "
              f"lost {figures['lost_samples']}, crc errors {figures['crc_errors']}: "
              f"{'ZERO samples lost' if (lost, figures['gaps'], figures['lost_samples']) == (0, 0, 0) else 'SAMPLES LOST'}")  # fmt: skip
        return 0 if (lost, figures["gaps"], figures["lost_samples"], during) == (0, 0, 0, "recording") and longest < 0.25 else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


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
