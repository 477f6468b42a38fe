"""How many 1 kHz stations' sample commits one PostgreSQL takes before stored samples get older than 250 ms.

One command::

    python bench/bench_storage_stations.py [--stations 25 50 100 150 200 300] [--seconds 10] [--processes 8]

No simulators and no servers: storage only. For each N, a fresh schema (migrated), N trials
``recording``, and N writers (threads spread over ``--processes`` processes, each writer its
own connection) that do exactly what a recording's database sink does every 100 ms: in one
transaction, update the trial's figures and insert one chunk of 100 samples (layout 2, 52
bytes a sample, as :func:`api.storage.samples.pack_samples` packs them). A writer that falls
behind commits the samples it owes in one larger chunk, as the recorder does. The age of the
newest sample is measured at the end of each commit: commit end minus the time its newest
sample was due. The first row is the baseline. Prints per N: commits per second, the age's
p50 / p99 / max, and the largest N whose p99 stays under 250 ms (the target: 100 stations).
The writers run on the same machine as PostgreSQL and share its cores: a lower bound for a
database on a host of its own.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import secrets
import sys
import threading
import time

import numpy as np
import psycopg

from api.storage.database import Database
from api.storage.samples import pack_samples

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
RATE_HZ = 1000
FLUSH_S = 0.1

UPDATE = (
    "UPDATE trials SET sample_count = %s, gap_count = 0, lost_samples = 0, crc_errors = 0, malformed = 0, "
    "reconnects = 0, duration_s = %s, effective_rate_hz = %s, clock_segments = %s, flushed_at = now() "
    "WHERE id = %s AND state = 'recording'"
)
INSERT = (
    "INSERT INTO sample_chunks (trial_id, chunk_index, first_time_s, last_time_s, sample_count, layout, data) "
    "VALUES (%s, %s, %s, %s, %s, 2, %s)"
)


def _writer(schema: str, trial_id: int, start: float, seconds: float, ages: list[float]) -> None:
    """One station's commits every ``FLUSH_S`` for ``seconds``, on a grid from ``start`` (monotonic)."""
    with psycopg.connect(PG_CONNINFO, options=f"-csearch_path={schema}") as conn:
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
            t = (sent + np.arange(n)) / RATE_HZ
            rows = pack_samples(t, np.sin(t), 45 + 45 * np.cos(t), -45 * np.sin(t), np.zeros(n, np.uint32),
                                sent + np.arange(n, dtype=np.int64), (sent + np.arange(n, dtype=np.int64)) * 1000)  # fmt: skip
            with conn.cursor() as cur:
                cur.execute(UPDATE, (sent + n, float(t[-1]), float(RATE_HZ), "[]", trial_id))
                cur.execute(INSERT, (trial_id, chunk, float(t[0]), float(t[-1]), n, rows.tobytes()))
            conn.commit()
            ages.append(time.monotonic() - (start + now_tick * FLUSH_S))
            sent += n
            chunk += 1
            tick = now_tick + 1


def _process(schema: str, trial_ids: list[int], start: float, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    ages: list[list[float]] = [[] for _ in trial_ids]
    threads = [threading.Thread(target=_writer, args=(schema, t, start, seconds, a)) for t, a in zip(trial_ids, ages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put([x for a in ages for x in a])


def run(n: int, seconds: float, processes: int) -> dict[str, float]:
    schema = f"isokin_storage_{secrets.token_hex(4)}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            database = Database.open(f"{PG_URL}?options=-csearch_path%3D{schema}")
            database.close()
            with psycopg.connect(PG_CONNINFO, options=f"-csearch_path={schema}") as conn:
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
            start = time.monotonic() + 1.0  # every process's threads start on the same grid
            queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            groups = [ids[k::processes] for k in range(processes) if ids[k::processes]]
            workers = [mp.Process(target=_process, args=(schema, g, start, seconds, queue)) for g in groups]
            for worker in workers:
                worker.start()
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
    args = parser.parse_args()
    mp.set_start_method("spawn")
    print(f"{'stations':>8} {'commits/s':>10} {'age p50 ms':>11} {'p99 ms':>8} {'max ms':>8}  (p99 / first row)")
    best, baseline = 0, None
    for n in args.stations:
        row = run(n, args.seconds, args.processes)
        baseline = baseline or row["p99_ms"]
        if row["p99_ms"] <= 250:
            best = n
        print(f"{n:>8} {row['commits_per_s']:>10.0f} {row['p50_ms']:>11.0f} {row['p99_ms']:>8.0f} {row['max_ms']:>8.0f}"
              f"  x{row['p99_ms'] / baseline:.2f}", flush=True)  # fmt: skip
    print(f"largest number of 1 kHz stations with the newest stored sample under 250 ms at p99: {best} (target 100)")
    return 0 if best >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
