"""Storage: migrations match the models, SQLite runs in WAL, sample chunks round-trip in order and by time."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from api.main import create_app
from api.settings import Settings
from api.storage.database import MIGRATIONS_DIR, Database
from api.storage.models import Base, LabSession, SampleChunk, Subject, Trial
from api.storage.samples import LAYOUT, append_samples, pack_samples, read_samples
from tests.api.conftest import IsokinServer


def test_migrations_build_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None and database.revision() == head
    assert database.upgrade() == head


def test_default_database_is_a_wal_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=None, acquisition_process=False))
    database = app.state.database
    try:
        assert (tmp_path / "data" / "isokin.db").is_file()
        with database.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        database.close()


def _trial(database: Database) -> int:
    with database.session() as session:
        subject = Subject(code=f"T-{np.random.randint(1 << 30)}")
        session.add(subject)
        session.flush()
        visit = LabSession(subject_id=subject.id, date=dt.date(2025, 1, 1))
        session.add(visit)
        session.flush()
        trial = Trial(
            session_id=visit.id,
            joint="knee",
            pattern="flexion/extension",
            side="left",
            mode="con/con",
            velocity_plus_dps=60,
            velocity_minus_dps=60,
            repetitions=3,
        )
        session.add(trial)
        session.commit()
        return trial.id


def _block(start: int, n: int, rate_hz: float = 1000.0) -> np.ndarray:
    seq = np.arange(start, start + n)
    t = seq / rate_hz
    return pack_samples(t, 100 * np.sin(t), 45 + 45 * np.cos(t), -45 * np.sin(t), seq % 4, seq)


def test_chunks_read_back_in_order_and_by_time_range(database: Database) -> None:
    trial_id = _trial(database)
    blocks = [_block(i * 250, 250) for i in range(8)]
    with database.session() as session:
        for rows in blocks:
            append_samples(session, trial_id, rows)
            session.commit()
        assert append_samples(session, trial_id, _block(0, 0)) is None
    whole = np.concatenate(blocks)
    with database.session() as session:
        got = read_samples(session, trial_id)
        assert len(got) == 2000
        for name in ("time_s", "torque_nm", "position_deg", "velocity_dps", "status", "sequence"):
            assert np.array_equal(getattr(got, name), whole[name]), name
        part = read_samples(session, trial_id, start_s=0.3, end_s=1.2005)
        assert part.sequence[0] == 300 and part.sequence[-1] == 1200
        assert len(read_samples(session, trial_id, start_s=5.0)) == 0
        assert len(read_samples(session, trial_id + 1000)) == 0


def test_packing_refuses_ragged_columns_and_foreign_dtypes(database: Database) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        pack_samples(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3))
    with database.session() as session, pytest.raises(ValueError, match="SAMPLE_DTYPE"):
        append_samples(session, 1, np.zeros(3))


def test_deleting_a_trial_deletes_its_chunks(database: Database) -> None:
    trial_id = _trial(database)
    with database.session() as session:
        append_samples(session, trial_id, _block(0, 10))
        session.commit()
        session.delete(session.get(Trial, trial_id))
        session.commit()
        assert len(read_samples(session, trial_id)) == 0


def test_db_check_names_every_damaged_sample_chunk(database: Database, database_url: str) -> None:
    whole_id, damaged_id = _trial(database), _trial(database)
    with database.session() as session:
        for trial_id in (whole_id, damaged_id):
            for i in range(4):
                append_samples(session, trial_id, _block(i * 250, 250))
            session.commit()
        for index in (1, 3):  # one bit of the last sample's bytes
            chunk = session.scalars(select(SampleChunk).where(SampleChunk.trial_id == damaged_id,
                                                              SampleChunk.chunk_index == index)).one()  # fmt: skip
            data = bytearray(chunk.data)
            data[-1] ^= 0x01
            chunk.data = bytes(data)
        session.commit()
    expected = [f"trial {damaged_id}: sample chunk {index} (layout {LAYOUT}) is damaged: its bytes do not match their CRC-32"
                for index in (1, 3)]  # fmt: skip
    newer_id = _trial(database)  # chunks of a layout from a newer isokin: said once, not once a chunk
    with database.session() as session:
        for i in range(3):
            append_samples(session, newer_id, _block(i * 250, 250))
        session.execute(text("UPDATE sample_chunks SET layout = 99 WHERE trial_id = :id"), {"id": newer_id})
        if database.backend == "sqlite":  # SQLite lets text into a BLOB column
            session.execute(text("UPDATE sample_chunks SET data = 'garbage' WHERE trial_id = :id AND chunk_index = 2"),
                            {"id": damaged_id})  # fmt: skip
        session.commit()
    expected += [f"trial {newer_id}: sample chunks of layout 99, unknown to this version of isokin (written by a newer one?)"]
    if database.backend == "sqlite":
        expected.insert(1, f"trial {damaged_id}: sample chunk 2 (layout {LAYOUT}) is damaged: "
                           "a bytes-like object is required, not 'str'")  # fmt: skip
    mine = (f"trial {whole_id}:", f"trial {damaged_id}:", f"trial {newer_id}:")

    def bare(problems: list[str]) -> list[str]:  # without the chunk's size in bytes
        return [re.sub(r" \(\d+ bytes\)$", "", p) for p in problems]

    assert bare([p for p in database.check() if p.startswith(mine)]) == expected
    done = subprocess.run([IsokinServer.command(), "db", "check", "--database", database_url], capture_output=True, text=True)
    assert done.returncode == 1
    printed = [line.split(": ", 1)[1] for line in done.stdout.splitlines()]
    assert bare([p for p in printed if p.startswith(mine)]) == expected
    assert f"trial {whole_id}:" not in done.stdout
