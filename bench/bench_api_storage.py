"""Sample storage: bytes a stored sample costs and the time to read a trial back, packed (layout 3) against plain rows (layout 2).

A knee set recorded from the simulator at 1 kHz through the driver and its calibration (what
the recorder stores) is written ``--trials`` times in ``--chunk-ms`` chunks (the service
flushes every 100 ms by default) into a fresh database per layout: layout 2 (the plain 52-byte
rows written until migration 0008, the baseline of the same run) and layout 3 (the packed
columns, with the calibration, as :class:`api.acquisition.recording.DatabaseSink` writes them).
Per backend (a SQLite file in WAL mode, checkpointed before it is measured; the local
PostgreSQL in a temporary schema, ``pg_total_relation_size`` of ``sample_chunks``: table,
TOAST and indexes) it prints:

- bytes a sample: the database's growth divided by the samples written (target: 15 B or less);
- read time of one trial (``read_samples``, median of 7), and its ratio to layout 2's (target: 1.5x or less);
- commit time of a chunk (median), and what a lab doing 20 subjects x 10 trials x 30 s a day
  at 1 kHz stores in a year of 250 working days.

Every trial read back is checked bit for bit against what was written::

    python bench/bench_api_storage.py [--seconds 60] [--trials 5] [--chunk-ms 100] [--calibration simulator]
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import text

from api.storage.database import Database
from api.storage.models import LabSession, SampleChunk, Subject, Trial
from api.storage.samples import SAMPLE_DTYPE, append_samples, calibration_scales, pack_samples, read_samples
from daq.calibration import load_profile
from daq.devices import open_driver
from daq.plan import SetPlan
from daq.recorder import MemorySink, Recorder, StopConditions
from simulators import register_url_handler

PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
TARGET_BYTES = 15.0
TARGET_READ_RATIO = 1.5
#: The simulator runs this many times real time (the time axis is its device clock).
SPEED = 10
#: A lab's year: 20 subjects x 10 trials x 30 s a day at 1 kHz, 250 working days.
SAMPLES_A_YEAR = 20 * 10 * 30 * 1000 * 250


def record(seconds: float, calibration: str) -> np.ndarray:
    """About ``seconds`` (device clock) of a con/con knee set at 1 kHz from the simulator, as stored rows."""
    register_url_handler()
    driver = open_driver(f"sim://?seed=11&speed={SPEED}", protocol="binary", calibration=load_profile(calibration),
                         sample_rate_hz=1000, reconnect_timeout_s=5)
    collect = MemorySink()
    try:
        driver.configure(SetPlan.for_set("knee", "con/con", pattern="flexion/extension", velocity_dps=60,
                                         velocity_minus_dps=60, repetitions=0, sample_rate_hz=1000))
        recorder = Recorder(driver, [collect], flush_interval_s=0.1)
        recorder.start(StopConditions(duration_s=seconds / SPEED))
        recorder.run()
    finally:
        driver.close()
    b = collect.blocks
    return pack_samples(
        np.concatenate([x.time_s for x in b]), np.concatenate([x.block.torque_nm for x in b]),
        np.concatenate([x.block.position_deg for x in b]), np.concatenate([x.block.velocity_dps for x in b]),
        np.concatenate([x.block.status for x in b]).astype(np.uint32), np.concatenate([x.sequence for x in b]),
        np.concatenate([x.block.device_time_us for x in b]),
    )


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


def _size(database: Database) -> int:
    """Bytes the samples take: the SQLite file after a checkpoint, or PostgreSQL's sample_chunks with TOAST and indexes."""
    with database.engine.connect() as connection:
        if database.backend == "sqlite":
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            path = database.sqlite_path
            assert path is not None
            return path.stat().st_size
        return int(connection.execute(text("SELECT pg_total_relation_size('sample_chunks')")).scalar_one())


def write(database: Database, layout: int, rows: np.ndarray, *, trials: int, per_chunk: int, scales: dict) -> dict:
    """Write ``rows`` as ``trials`` trials in ``layout``: bytes a sample, commit time, the trials' ids."""
    trial_ids = [_trial(database) for _ in range(trials)]
    size_before = _size(database)
    commit_ms: list[float] = []
    with database.session() as session:
        for trial_id in trial_ids:
            for k, start in enumerate(range(0, len(rows), per_chunk)):
                part = rows[start : start + per_chunk]
                began = time.perf_counter()
                if layout == 2:  # the plain rows, as every version before migration 0008 wrote them
                    session.add(SampleChunk(trial_id=trial_id, chunk_index=k, first_time_s=float(part["time_s"][0]),
                                            last_time_s=float(part["time_s"][-1]), sample_count=len(part), layout=2,
                                            data=part.tobytes()))
                else:
                    append_samples(session, trial_id, part, chunk_index=k, scales=scales)
                session.commit()
                commit_ms.append((time.perf_counter() - began) * 1000)
    if database.backend == "postgresql":
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE sample_chunks"))
    grown = _size(database) - size_before
    return {"bytes": grown / (trials * len(rows)), "commit_ms": statistics.median(commit_ms), "trials": trial_ids}


def read_ms(database: Database, trial_id: int, rows: np.ndarray) -> float:
    """Time to read one trial back (checked bit for bit), ms."""
    began = time.perf_counter()
    with database.session() as session:
        block = read_samples(session, trial_id)
    elapsed = (time.perf_counter() - began) * 1000
    for name in SAMPLE_DTYPE.names or ():
        if not np.array_equal(np.ascontiguousarray(getattr(block, name)).view(np.uint8), np.ascontiguousarray(rows[name]).view(np.uint8)):
            raise AssertionError(f"trial {trial_id}: {name} did not come back bit for bit")
    return elapsed


def measure(databases: dict[int, Database], rows: np.ndarray, **options: object) -> dict[int, dict]:
    """Both layouts written, then read in turns (7 rounds), so a busy machine slows both alike."""
    results = {layout: write(database, layout, rows, **options) for layout, database in databases.items()}  # type: ignore[arg-type]
    reads: dict[int, list[float]] = {layout: [] for layout in databases}
    for k in range(7):
        for layout, database in databases.items():
            reads[layout].append(read_ms(database, results[layout]["trials"][k % len(results[layout]["trials"])], rows))
    for layout in databases:
        results[layout]["read_ms"] = statistics.median(reads[layout])
    return results


def report(backend: str, results: dict[int, dict], samples: int) -> None:
    base, packed = results[2], results[3]
    ratio = packed["read_ms"] / base["read_ms"]
    for layout, r in sorted(results.items()):
        print(
            f"{backend:10s} layout {layout}: {r['bytes']:6.2f} B/sample | read a trial ({samples} samples) "
            f"{r['read_ms']:6.1f} ms | commit p50 {r['commit_ms']:.2f} ms | a lab's year "
            f"{r['bytes'] * SAMPLES_A_YEAR / 1e9:5.1f} GB"
        )
    print(
        f"{backend:10s} layout 3: {packed['bytes']:.2f} B/sample (target <= {TARGET_BYTES:g}: "
        f"{'met' if packed['bytes'] <= TARGET_BYTES else 'MISSED'}; {base['bytes'] / packed['bytes']:.1f}x smaller than layout 2), "
        f"read {ratio:.2f}x layout 2's (target <= {TARGET_READ_RATIO:g}x: {'met' if ratio <= TARGET_READ_RATIO else 'MISSED'})"
    )


@contextmanager
def pg_schema() -> Iterator[str | None]:
    try:
        admin = psycopg.connect(PG_CONNINFO, autocommit=True)
    except psycopg.OperationalError as err:
        print(f"postgresql skipped: {str(err).strip()}")
        yield None
        return
    schema = f"isokin_bench_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the recorded trial, s")
    parser.add_argument("--trials", type=int, default=5, help="trials written per layout")
    parser.add_argument("--chunk-ms", type=float, default=100.0, help="samples per chunk, as ms at 1 kHz (the flush interval)")
    parser.add_argument("--calibration", default="simulator", help="calibration profile the samples are made with")
    args = parser.parse_args()
    rows = record(args.seconds, args.calibration)
    scales = calibration_scales(load_profile(args.calibration))
    per_chunk = max(1, int(round(args.chunk_ms)))
    print(f"{len(rows)} samples recorded ({args.calibration} calibration), {per_chunk}-sample chunks, {args.trials} trials a layout")
    options = dict(trials=args.trials, per_chunk=per_chunk, scales=scales)
    with tempfile.TemporaryDirectory() as tmp:
        databases = {layout: Database.open(f"sqlite:///{Path(tmp) / f'layout{layout}.db'}") for layout in (2, 3)}
        report("sqlite", measure(databases, rows, **options), len(rows))
        for database in databases.values():
            database.close()
    with pg_schema() as url2, pg_schema() as url3:
        if url2 is None or url3 is None:
            return
        databases = {2: Database.open(url2), 3: Database.open(url3)}
        report("postgresql", measure(databases, rows, **options), len(rows))
        for database in databases.values():
            database.close()


if __name__ == "__main__":
    main()
