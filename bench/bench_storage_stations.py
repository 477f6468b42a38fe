"""How many 1 kHz stations' sample commits one PostgreSQL takes before stored samples get older than 250 ms.

One command::

    python bench/bench_storage_stations.py [--stations 25 50 100 150 200 300] [--seconds 10] [--processes 8]

No simulators and no servers: storage only. For each N, a fresh schema (migrated), N trials
``recording``, and N writers (threads spread over ``--processes`` processes, each writer its
own connection) that do exactly what a recording's database sink does every 100 ms: in one
transaction, update the trial's figures and insert one chunk of 100 samples (calibrated
counts packed in layout 3 with their calibration, as :func:`api.storage.samples.append_samples`
packs them). A writer that falls
behind commits the samples it owes in one larger chunk, as the recorder does. The age of the
newest sample is measured at the end of each commit: commit end minus the time its newest
sample was due. Each writer packs a chunk of a given length once and sends those bytes at
every commit: packing is the station's CPU, not the database's, and here the writers share
the database's two cores. The first row is the baseline. Prints per N: commits per second, the age's
p50 / p99 / max, and the largest N whose p99 stays under 250 ms (the target: 100 stations).
The writers run on the same machine as PostgreSQL and share its cores: a lower bound for a
database on a host of its own.

Each writer holds a connection, so N stations need PostgreSQL's ``max_connections`` above N
(the default is 100). Rather than change a shared server, run a throwaway cluster beside it::

    su postgres -c "/usr/lib/postgresql/15/bin/initdb -D /tmp/isokin-bench-pg -A trust"
    su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/isokin-bench-pg -l /tmp/isokin-bench-pg.log \
        -o '-p 5433 -c max_connections=400 -k /tmp' start"
    su postgres -c "createdb -h 127.0.0.1 -p 5433 test"
    python bench/bench_storage_stations.py --port 5433
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import secrets
import sys
import threading
import time
from typing import Any

import numpy as np
import psycopg

from api.storage.database import Database
from api.storage.samples import LAYOUT, encode_chunk_data, pack_samples

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:{port}/test"
PG_CONNINFO = "host=127.0.0.1 port={port} user=postgres dbname=test connect_timeout=5"
RATE_HZ = 1000
FLUSH_S = 0.1

UPDATE = (
    "UPDATE trials SET sample_count = %s, gap_count = 0, lost_samples = 0, crc_errors = 0, malformed = 0, "
    "reconnects = 0, duration_s = %s, effective_rate_hz = %s, clock_segments = %s, flushed_at = now() "
    "WHERE id = %s AND state = 'recording'"
)
INSERT = (
    "INSERT INTO sample_chunks (trial_id, chunk_index, first_time_s, last_time_s, sample_count, layout, data) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
#: The simulator's calibration: 500/32768 units a count on every channel.
GAIN = 500 / 32768
SCALES = {name: (GAIN, 0.0) for name in ("torque_nm", "position_deg", "velocity_dps")}


def _chunk(first: int, n: int) -> bytes:
    """A chunk of ``n`` samples from sample ``first``, packed as the database sink packs them."""
    index = first + np.arange(n, dtype=np.int64)
    t = index / RATE_HZ
    counts = np.round(np.array([np.sin(t) * 5000, (45 + 45 * np.cos(t)) * 60, -45 * np.sin(t) * 60])).astype(np.int64)
    rows = pack_samples(t, counts[0] * GAIN, counts[1] * GAIN, counts[2] * GAIN, np.zeros(n, np.uint32), index, index * 1000)
    return encode_chunk_data(rows, LAYOUT, SCALES)


def _writer(conninfo: str, schema: str, trial_id: int, clock: _Clock, ages: list[float]) -> None:
    """One station's commits every ``FLUSH_S`` for the clock's seconds, on a grid from its start (monotonic)."""
    packed: dict[int, bytes] = {}
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as conn:
        start, seconds = clock.wait()
        sent, chunk = 0, 0
        tick = 1
        while True:
            due = start + tick * FLUSH_S
            if due > start + seconds:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            # Everything due by now goes in this commit (a writer behind catches up in one chunk).
            now_tick = max(tick, int((time.monotonic() - start) / FLUSH_S))
            n = (now_tick * round(RATE_HZ * FLUSH_S)) - sent
            if n not in packed:
                packed[n] = _chunk(sent, n)
            first_s, last_s = sent / RATE_HZ, (sent + n - 1) / RATE_HZ
            with conn.cursor() as cur:
                cur.execute(UPDATE, (sent + n, last_s, float(RATE_HZ), "[]", trial_id))
                cur.execute(INSERT, (trial_id, chunk, first_s, last_s, n, LAYOUT, packed[n]))
            conn.commit()
            ages.append(time.monotonic() - (start + now_tick * FLUSH_S))
            sent += n
            chunk += 1
            tick = now_tick + 1


class _Clock:
    """The common start: every writer of every process connected first, then all start on one grid."""

    def __init__(self, writers: int, ready: Any, start: Any, seconds: float) -> None:
        self._connected = threading.Barrier(writers)
        self._ready, self._start, self.seconds = ready, start, seconds
        self._go = threading.Event()

    def wait(self) -> tuple[float, float]:
        if self._connected.wait() == 0:  # the process's last writer to connect tells the parent
            self._ready.wait()  # every process ready
            self._ready.wait()  # the parent has set the start
            self._go.set()
        self._go.wait()
        return float(self._start.value), self.seconds


def _process(conninfo: str, schema: str, trial_ids: list[int], ready: Any, start: Any, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    ages: list[list[float]] = [[] for _ in trial_ids]
    clock = _Clock(len(trial_ids), ready, start, seconds)
    threads = [threading.Thread(target=_writer, args=(conninfo, schema, t, clock, a)) for t, a in zip(trial_ids, ages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put([x for a in ages for x in a])


def run(n: int, seconds: float, processes: int, port: int) -> dict[str, float]:
    schema = f"isokin_storage_{secrets.token_hex(4)}"
    conninfo = PG_CONNINFO.format(port=port)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            database = Database.open(f"{PG_URL.format(port=port)}?options=-csearch_path%3D{schema}")
            database.close()
            with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as conn:
                subject = conn.execute("INSERT INTO subjects (code, notes, created_at, updated_at) "
                                       "VALUES ('S', '', now(), now()) RETURNING id").fetchone()[0]  # type: ignore[index]  # fmt: skip
                session = conn.execute("INSERT INTO sessions (subject_id, date, notes, created_at, updated_at) "
                                       "VALUES (%s, current_date, '', now(), now()) RETURNING id", (subject,)).fetchone()[0]  # type: ignore[index]  # fmt: skip
                ids = [conn.execute(
                    "INSERT INTO trials (session_id, joint, pattern, side, mode, velocity_plus_dps, velocity_minus_dps, "
                    "repetitions, state, source_format, sample_count, gap_count, lost_samples, created_at) VALUES "
                    "(%s, 'knee', 'flexion/extension', 'left', 'con/con', 60, 60, 5, 'recording', 'isokin', 0, 0, 0, now()) "
                    "RETURNING id", (session,)).fetchone()[0] for _ in range(n)]  # type: ignore[index]  # fmt: skip
                conn.commit()
            queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            groups = [ids[k::processes] for k in range(processes) if ids[k::processes]]
            # Imports and connections first (they cost seconds of CPU), then one start for all.
            ready, start = mp.Barrier(len(groups) + 1), mp.Value("d", 0.0)
            workers = [mp.Process(target=_process, args=(conninfo, schema, g, ready, start, seconds, queue)) for g in groups]
            for worker in workers:
                worker.start()
            ready.wait()
            start.value = time.monotonic() + 0.2
            ready.wait()
            ages = np.array([x for _ in workers for x in queue.get()])
            for worker in workers:
                worker.join()
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return {
        "commits_per_s": len(ages) / seconds,
        "p50_ms": 1000 * float(np.percentile(ages, 50)),
        "p99_ms": 1000 * float(np.percentile(ages, 99)),
        "max_ms": 1000 * float(ages.max()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, nargs="+", default=[25, 50, 100, 150, 200, 300])
    parser.add_argument("--seconds", type=float, default=10.0, help="recording time per N, s")
    parser.add_argument("--processes", type=int, default=8, help="writer processes (threads spread over them)")
    parser.add_argument("--port", type=int, default=5432, help="PostgreSQL port on 127.0.0.1 (database test)")
    args = parser.parse_args()
    mp.set_start_method("spawn")
    print(f"{'stations':>8} {'commits/s':>10} {'age p50 ms':>11} {'p99 ms':>8} {'max ms':>8}  (p99 / first row)")
    best, baseline = 0, None
    for n in args.stations:
        row = run(n, args.seconds, args.processes, args.port)
        baseline = baseline or row["p99_ms"]
        if row["p99_ms"] <= 250:
            best = n
        print(f"{n:>8} {row['commits_per_s']:>10.0f} {row['p50_ms']:>11.0f} {row['p99_ms']:>8.0f} {row['max_ms']:>8.0f}"
              f"  x{row['p99_ms'] / baseline:.2f}", flush=True)  # fmt: skip
    print(f"largest number of 1 kHz stations with the newest stored sample under 250 ms at p99: {best} (target 100)")
    return 0 if best >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
