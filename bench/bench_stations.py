"""N stations recording at once into one PostgreSQL database: samples lost and the age of the newest stored sample.

One command::

    python bench/bench_stations.py [--stations 1 2 4 8] [--seconds 10] [--database URL]

For each N: a fresh schema in the local PostgreSQL (or ``--database``), N real ``isokin serve``
processes (station ids ``bench-0`` ... ``bench-N-1``), each with its own in-process simulator
at real time (1 kHz), each recording a long knee trial. While they record, the bench polls the
database every 20 ms: the age of each trial's newest stored sample (``now - started_at -
duration_s``: at real-time speed a sample's time is wall time). Then it stops every trial and
checks what was stored against what each device reported: gaps, lost samples, and that the
stored sample index has no hole. It prints, per N: samples stored, samples lost (must be 0),
the age's p50 / p99 / max, and the longest device-time span of one commit (chunk). The first
row (N = 1) is the baseline the others are read against.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
from sqlalchemy import select

from api.storage.database import Database
from api.storage.models import SampleChunk, Trial
from api.storage.samples import read_samples

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
TRIAL = {"joint": "knee", "mode": "con/con", "velocity_dps": 60, "repetitions": 100}


def _isokin() -> str:
    return shutil.which("isokin", path=str(Path(sys.executable).parent)) or "isokin"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], station: str, seed: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen(
        [_isokin(), "serve", "--port", str(port), "--station-id", station, "--device", f"sim://?speed=1&seed={seed}",
         "--log-level", "warning"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}/api/v1"


def _wait_connected(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).json()["device"]["state"] == "connected":
                return
        except (httpx.TransportError, ValueError, KeyError):
            pass
        if proc.poll() is not None:
            raise SystemExit(f"isokin serve exited with {proc.returncode}")
        time.sleep(0.2)
    raise SystemExit("isokin serve did not come up with its device")


def run(n: int, seconds: float, database_url: str, tmp: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")}
    env |= {"ISOKIN_DATABASE_URL": database_url, "ISOKIN_DATA_DIR": str(tmp)}
    token = subprocess.run([_isokin(), "token", "create", "--role", "operator", "--name", "bench"],
                           env=env, capture_output=True, text=True, check=True).stdout.split()[-1]  # fmt: skip
    servers = [_serve(env, f"bench-{k}", 100 + k, tmp / f"serve-{n}-{k}.log") for k in range(n)]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for proc, base in servers:
            _wait_connected(base, proc)
        clients = [httpx.Client(base_url=base, headers=headers, timeout=30) for _, base in servers]
        subject = clients[0].post("/subjects", json={"code": f"BENCH-{n}"}).json()
        session = clients[0].post("/sessions", json={"subject_id": subject["id"]}).json()
        trial_ids = []
        for k, http in enumerate(clients):
            trial = http.post(f"/sessions/{session['id']}/trials", json=TRIAL | {"side": ("left", "right")[k % 2]}).json()
            http.post(f"/trials/{trial['id']}/start").raise_for_status()
            trial_ids.append(trial["id"])
        database = Database(database_url)
        ages: list[float] = []
        deadline = time.monotonic() + seconds
        with database.session() as session_db:
            while time.monotonic() < deadline:
                now = dt.datetime.now(dt.UTC)
                for trial in session_db.scalars(select(Trial).where(Trial.id.in_(trial_ids))):
                    if trial.started_at is not None and trial.duration_s is not None:
                        newest = trial.started_at + dt.timedelta(seconds=trial.duration_s)
                        ages.append((now - newest).total_seconds())
                session_db.expire_all()
                session_db.rollback()
                time.sleep(0.02)
        for http, trial_id in zip(clients, trial_ids):
            stopped = http.post(f"/trials/{trial_id}/stop")
            stopped.raise_for_status()
        stored = lost = holes = 0
        longest_chunk = 0.0
        with database.session() as session_db:
            for trial_id in trial_ids:
                trial = session_db.get(Trial, trial_id)
                assert trial is not None
                samples = read_samples(session_db, trial_id)
                stored += len(samples)
                lost += trial.lost_samples + trial.gap_count
                holes += int(np.count_nonzero(np.diff(samples.sequence) != 1))
                ends = session_db.scalars(select(SampleChunk.last_time_s).where(SampleChunk.trial_id == trial_id))
                longest_chunk = max(longest_chunk, float(np.diff([0.0, *sorted(ends)]).max()))
        database.close()
        for http in clients:
            http.close()
    finally:
        for proc, _ in servers:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    ordered = np.sort(ages)
    return {
        "stations": n,
        "samples": stored,
        "lost": lost + holes,
        "age_p50_ms": 1000 * float(np.percentile(ordered, 50)),
        "age_p99_ms": 1000 * float(np.percentile(ordered, 99)),
        "age_max_ms": 1000 * float(ordered[-1]),
        "longest_commit_ms": 1000 * longest_chunk,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, nargs="+", default=[1, 2, 4, 8], help="numbers of stations to run")
    parser.add_argument("--seconds", type=float, default=10.0, help="recording time measured per N, s")
    parser.add_argument("--database", default=PG_URL, help="PostgreSQL URL (a fresh schema is made in it per N)")
    args = parser.parse_args()
    print(f"{'N':>3} {'samples':>9} {'lost':>5} {'age p50 ms':>11} {'p99 ms':>8} {'max ms':>8} {'longest commit ms':>18}"
          f"  (p99 / N=1)")  # fmt: skip
    baseline = None
    failed = False
    for n in args.stations:
        schema = f"isokin_bench_{secrets.token_hex(4)}"
        tmp = Path(tempfile.mkdtemp(prefix="isokin-stations-"))
        with psycopg.connect(PG_CONNINFO, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
            try:
                row = run(n, args.seconds, f"{args.database}?options=-csearch_path%3D{schema}", tmp)
            finally:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
                shutil.rmtree(tmp, ignore_errors=True)
        baseline = baseline or row["age_p99_ms"]
        failed |= row["lost"] != 0 or row["age_p99_ms"] > 250
        print(f"{n:>3} {row['samples']:>9.0f} {row['lost']:>5.0f} {row['age_p50_ms']:>11.0f} {row['age_p99_ms']:>8.0f} "
              f"{row['age_max_ms']:>8.0f} {row['longest_commit_ms']:>18.0f}  x{row['age_p99_ms'] / baseline:.2f}", flush=True)  # fmt: skip
    print("target: 0 samples lost and the newest stored sample under 250 ms old at p99, for every N")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
