"""How fresh the database is while a trial records, and what a SIGKILL loses, on a real ``isokin serve``.

For SQLite (a temporary data directory) and, when it answers, the local PostgreSQL (a
temporary schema): start ``isokin serve`` on the in-process simulator at real-time speed
(so a sample's ``started_at + time_s`` is wall time), record a knee trial, and

- poll ``GET /trials/{id}`` for ``--seconds``: the age of the newest stored sample
  (p50, p99, max) and the recording's longest interval between two commits;
- SIGKILL the server and its acquisition process together (its process group: a crash of the
  whole station) ``--kills`` times at random moments of a recording: the time between the
  newest stored sample and the kill, then restart and check the trial is ``interrupted``. (A
  SIGKILL of the server alone loses nothing: its acquisition process ends the trial with every
  sample stored, as tests/api/test_sigkill.py shows.)

::

    python bench/bench_api_durability.py [--seconds 10] [--kills 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
TRIAL = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 100}


def _isokin() -> str:
    return shutil.which("isokin", path=str(Path(sys.executable).parent)) or "isokin"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> httpx.Client:
        port = _port()
        self.proc = subprocess.Popen(
            [_isokin(), "serve", "--port", str(port), "--log-level", "error"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).json()["device"]["state"] == "connected":
                    return httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {self.env['TOKEN']}"})
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise SystemExit("isokin serve did not come up")

    def kill(self) -> float:
        assert self.proc is not None
        killed_at = time.time()
        os.killpg(self.proc.pid, signal.SIGKILL)  # the server leads its own group, with its acquisition process
        self.proc.wait()
        return killed_at

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)


def _newest(trial: dict) -> float | None:
    if trial["started_at"] is None or trial["acquisition"]["duration_s"] is None:
        return None
    return _ts(trial["started_at"]) + trial["acquisition"]["duration_s"]


def run(name: str, env: dict[str, str], seconds: float, kills: int) -> None:
    created = subprocess.run([_isokin(), "token", "create", "--role", "operator"], env=env, capture_output=True, text=True)
    env["TOKEN"] = created.stdout.split()[-1]
    server = Server(env)
    http = server.start()
    subject = http.post("/subjects", json={"code": f"bench-{secrets.token_hex(3)}"}).json()
    session_id = http.post("/sessions", json={"subject_id": subject["id"]}).json()["id"]

    trial_id = http.post(f"/sessions/{session_id}/trials", json=TRIAL).json()["id"]
    http.post(f"/trials/{trial_id}/start")
    ages = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        newest = _newest(http.get(f"/trials/{trial_id}").json())
        if newest is not None:
            ages.append(time.time() - newest)
        time.sleep(0.02)
    longest = http.get(f"/trials/{trial_id}/live").json()["longest_flush_interval_s"]
    http.post(f"/trials/{trial_id}/stop")
    ages.sort()
    print(
        f"{name}: newest stored sample age over {seconds:g} s ({len(ages)} polls): "
        f"p50 {statistics.median(ages) * 1000:.0f} ms, p99 {ages[int(0.99 * (len(ages) - 1))] * 1000:.0f} ms, "
        f"max {ages[-1] * 1000:.0f} ms; longest interval between commits {longest * 1000:.0f} ms"
    )

    losses = []
    for _ in range(kills):
        trial_id = http.post(f"/sessions/{session_id}/trials", json=TRIAL).json()["id"]
        http.post(f"/trials/{trial_id}/start")
        time.sleep(random.uniform(1.0, 3.0))
        http.close()
        killed_at = server.kill()
        http = server.start()
        trial = http.get(f"/trials/{trial_id}").json()
        assert trial["state"] == "interrupted", trial["state"]
        losses.append(killed_at - (_newest(trial) or 0.0))
    http.close()
    server.stop()
    if losses:
        print(
            f"{name}: SIGKILL of the server and its acquisition x{kills}: newest stored sample before the kill by "
            f"{', '.join(f'{x * 1000:.0f}' for x in losses)} ms (max {max(losses) * 1000:.0f} ms; limit 250 ms); "
            "every trial interrupted after the restart"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="polling time, s")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per database")
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")}
    base |= {"ISOKIN_DEVICE": "sim://?speed=1&seed=1", "ISOKIN_STATION_ID": "bench-durability"}
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", base | {"ISOKIN_DATA_DIR": tmp}, args.seconds, args.kills)
    try:
        admin = psycopg.connect(PG_CONNINFO, autocommit=True)
    except psycopg.OperationalError as err:
        print(f"postgresql: skipped ({str(err).strip().splitlines()[0]})")
        return
    schema = f"isokin_bench_{secrets.token_hex(4)}"
    with admin, tempfile.TemporaryDirectory() as tmp:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            run("postgresql", base | {"ISOKIN_DATA_DIR": tmp, "ISOKIN_DATABASE_URL": url}, args.seconds, args.kills)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
