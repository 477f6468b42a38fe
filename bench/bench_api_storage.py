"""Sample storage throughput: a 60 s, 1 kHz trial written in 250 ms chunks, then read back whole and by range.

Prints figures for SQLite (a file in a temporary directory, WAL) and, when it answers,
the local PostgreSQL (a temporary schema, dropped at the end)::

    python bench/bench_api_storage.py [--seconds 60] [--rate-hz 1000] [--chunk-ms 250]
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from api.storage.database import Database
from api.storage.models import LabSession, Subject, Trial
from api.storage.samples import append_samples, pack_samples, read_samples

PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def _trial(database: Database) -> int:
    with database.session() as session:
        subject = Subject(code=f"bench-{secrets.token_hex(4)}")
        session.add(subject)
        session.flush()
        visit = LabSession(subject_id=subject.id, date=dt.date.today())
        session.add(visit)
        session.flush()
        trial = Trial(
            session_id=visit.id, joint="knee", pattern="flexion/extension", side="left", mode="con/con",
            velocity_plus_dps=60, velocity_minus_dps=60, repetitions=5,
        )
        session.add(trial)
        session.commit()
        return trial.id


def run(database: Database, *, seconds: float, rate_hz: float, chunk_ms: float) -> None:
    trial_id = _trial(database)
    per_chunk = int(round(rate_hz * chunk_ms / 1000))
    chunks = int(round(seconds * 1000 / chunk_ms))
    commit_ms: list[float] = []
    with database.session() as session:
        for i in range(chunks):
            seq = np.arange(i * per_chunk, (i + 1) * per_chunk)
            t = seq / rate_hz
            rows = pack_samples(t, 80 * np.sin(t), 45 + 45 * np.cos(t), -45 * np.sin(t), seq % 2, seq)
            start = time.perf_counter()
            append_samples(session, trial_id, rows)
            session.commit()
            commit_ms.append((time.perf_counter() - start) * 1000)
    reads = []
    for _ in range(5):
        start = time.perf_counter()
        with database.session() as session:
            block = read_samples(session, trial_id)
        reads.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    with database.session() as session:
        part = read_samples(session, trial_id, start_s=seconds / 2, end_s=seconds / 2 + 5)
    range_ms = (time.perf_counter() - start) * 1000
    assert len(block) == chunks * per_chunk
    commit_ms.sort()
    print(
        f"{database.backend:10s} write {chunks} chunks x {per_chunk} samples: commit p50 {statistics.median(commit_ms):.2f} ms, "
        f"p99 {commit_ms[int(0.99 * (len(commit_ms) - 1))]:.2f} ms | read {len(block)} samples: "
        f"median {statistics.median(reads):.1f} ms | 5 s range ({len(part)} samples): {range_ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate-hz", type=float, default=1000.0)
    parser.add_argument("--chunk-ms", type=float, default=250.0)
    args = parser.parse_args()
    options = dict(seconds=args.seconds, rate_hz=args.rate_hz, chunk_ms=args.chunk_ms)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        run(database, **options)
        database.close()
    try:
        admin = psycopg.connect(PG_CONNINFO, autocommit=True)
    except psycopg.OperationalError as err:
        print(f"postgresql skipped: {str(err).strip()}")
        return
    schema = f"isokin_bench_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            database = Database.open(f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}")
            run(database, **options)
            database.close()
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
