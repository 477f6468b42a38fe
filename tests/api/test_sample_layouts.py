"""Packed sample chunks (layout 3/4): bit-exact on recorded, real and hostile data; damaged chunks are clear errors;
migration 0008 converts every trial and back, the exports byte for byte the same, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib.util
import secrets
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.acquisition.export import iter_trial_csv
from api.acquisition.recording import DatabaseSink, packed_rows
from api.storage.chunk_codec import CorruptChunkError, decode_chunks, encode_columns
from api.storage.database import MIGRATIONS_DIR, Database
from api.storage.models import LabSession, SampleChunk, Subject, Trial, TrialEvent
from api.storage.samples import (
    LAYOUTS,
    SAMPLE_DTYPE,
    CorruptSamplesError,
    append_samples,
    calibration_scales,
    decode_chunk_data,
    encode_chunk_data,
    pack_samples,
    read_samples,
)
from daq.calibration import load_profile
from daq.devices import open_driver
from daq.importers import load_recording
from daq.plan import SetPlan
from daq.recorder import MemorySink, Recorder, RecordingSink, StopConditions
from simulators import register_url_handler
from tests.api.conftest import PG_CONNINFO, pg_schema_url

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
V1 = LAYOUTS[1].dtype
MIGRATION = MIGRATIONS_DIR / "versions" / "0008_packed_samples.py"


def _migration():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("migration_0008", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_bits(columns: dict[str, np.ndarray], rows: np.ndarray) -> bool:
    """The columns are the rows' fields, of their types, bit for bit (NaN payloads and -0.0 included)."""
    names = rows.dtype.names or ()
    if sorted(columns) != sorted(names):
        return False
    return all(
        columns[n].dtype == rows.dtype[n] and len(columns[n]) == len(rows)
        and np.array_equal(np.ascontiguousarray(columns[n]).view(np.uint8), np.ascontiguousarray(rows[n]).view(np.uint8))
        for n in names
    )


def _round_trip(rows: np.ndarray, per_chunk: int, scales: dict | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Rows packed ``per_chunk`` at a time and decoded together; the rows back and the packed bytes."""
    names = rows.dtype.names or ()
    chunks = [encode_columns({n: rows[n][s : s + per_chunk] for n in names}, rows.dtype, scales) for s in range(0, len(rows), per_chunk)]
    back = decode_chunks(chunks, rows.dtype, [len(rows[s : s + per_chunk]) for s in range(0, len(rows), per_chunk)])
    return back, sum(len(c) for c in chunks)


def _record(calibration: str, sinks: list[RecordingSink], *, seconds: float, seed: int = 5) -> None:
    """A knee set from the simulator at 1 kHz for ``seconds`` of the host clock (10x as much recorded), calibrated with ``calibration``."""
    register_url_handler()
    driver = open_driver(f"sim://?seed={seed}&speed=10", protocol="binary", calibration=load_profile(calibration),
                         sample_rate_hz=1000, reconnect_timeout_s=5)
    try:
        driver.configure(SetPlan.for_set("knee", "con/con", pattern="flexion/extension", velocity_dps=60,
                                         velocity_minus_dps=60, repetitions=0, sample_rate_hz=1000))
        recorder = Recorder(driver, sinks, flush_interval_s=0.1)
        recorder.start(StopConditions(duration_s=seconds))
        recorder.run()
    finally:
        driver.close()


# --- the codec -----------------------------------------------------------------------------------


@pytest.mark.parametrize("calibration", ["simulator", "biodex-5v-ads1115", "biodex-5v-arduino-uno"])
def test_recorded_samples_come_back_bit_for_bit_as_calibrated_counts(calibration: str) -> None:
    """Every shipped calibration (a dyadic gain, 0.025, 1000/1023 with an offset): the counts are stored, exactly."""
    collect = MemorySink()
    _record(calibration, [collect], seconds=1.0)
    rows = packed_rows(collect.blocks)
    assert len(rows) > 5000
    scales = calibration_scales(load_profile(calibration))
    for per_chunk in (1, 7, 100, 250, 10_000):
        back, size = _round_trip(rows, per_chunk, scales)
        assert _same_bits(back, rows), per_chunk
    # stored as counts: a few bytes a sample (plain rows take 52)
    assert size / len(rows) < 6
    # without the calibration it is still exact, only larger
    back, _ = _round_trip(rows, 100)
    assert _same_bits(back, rows)


@pytest.mark.skipif(not REAL.is_dir(), reason="real recordings folder absent")
@pytest.mark.parametrize("name", ["humac_csv/S01 10_59_09 AM 60 5 Right 1.csv", "humac_csv/S02 10_38_18 AM 60 4 Right 10.csv",
                                  "contrex_ctm/CTM380.CTM", "contrex_ctm/CTM388.CTM"])
def test_real_recordings_come_back_bit_for_bit(name: str) -> None:
    recording = load_recording(REAL / name)
    n = len(recording.time_s)
    status = recording.extra.get("status")
    rows = pack_samples(recording.time_s, recording.torque_nm, recording.position_deg, recording.velocity_dps,
                        np.zeros(n, np.uint32) if status is None else np.clip(status, 0, 2**32 - 1).astype(np.uint32),
                        np.arange(n, dtype=np.int64))
    for per_chunk in (100, 10_000):
        back, size = _round_trip(rows, per_chunk)
        assert _same_bits(back, rows), per_chunk
    assert size < rows.nbytes / 2


def test_any_bits_come_back() -> None:
    """NaN payloads, infinities, -0.0, subnormals, extreme integers, times running backwards, a lying calibration."""
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 3, 64, 1000):
        rows = np.empty(n, dtype=SAMPLE_DTYPE)
        for name in ("time_s", "torque_nm", "position_deg", "velocity_dps"):
            rows[name] = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True).view(np.float64)
        rows["status"] = rng.integers(0, 2**32 - 1, n, dtype=np.uint32, endpoint=True)
        rows["sequence"] = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True)
        rows["device_time_us"] = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True)
        special = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308])
        if n >= len(special):
            rows["torque_nm"][: len(special)] = special
            rows["sequence"][:2] = [-(2**63), 2**63 - 1]
        back, _ = _round_trip(rows, 10, {"torque_nm": (0.025, 0.0), "position_deg": (1.0, -0.0), "velocity_dps": (np.inf, 0.0)})
        assert _same_bits(back, rows), n
    # a regular time axis with jitter, a clock that jumps back (a new segment), counts that nearly fit a gain
    t = np.arange(3000) / 1000.0
    clock = (np.arange(3000) * 1000 + rng.integers(-40, 40, 3000)).astype(np.int64)
    clock[1500:] -= 10**6
    torque = np.round(rng.normal(0, 2000, 3000)) * 0.025
    torque[17] = np.nextafter(torque[17], np.inf)
    rows = pack_samples(t, torque, t * 90, -t, np.zeros(3000), np.arange(3000), clock)
    for per_chunk in (2, 100, 999):
        back, _ = _round_trip(rows, per_chunk, {"torque_nm": (0.025, 0.0)})
        assert _same_bits(back, rows)


@pytest.mark.parametrize(
    "damage",
    ["cut_header", "cut_data", "flip_data", "extra_bytes", "bad_version", "bad_codec", "bad_width", "count", "bad_reference",
     "short_body_signed", "bad_deflate", "deflate_bomb"],
)
def test_damaged_chunks_are_refused_not_misread(damage: str) -> None:
    t = np.arange(200) / 1000.0
    rows = pack_samples(t, np.sin(t), t * 90, -t, np.zeros(200), np.arange(200), np.arange(200) * 1000)
    good = encode_columns({n: rows[n] for n in SAMPLE_DTYPE.names or ()}, SAMPLE_DTYPE)
    long = encode_columns({n: np.resize(rows[n], 2000) for n in SAMPLE_DTYPE.names or ()}, SAMPLE_DTYPE)
    assert long[1] == 1  # deflated

    def signed(rest: bytes, data: bytes = good, n: int | None = None) -> bytes:  # damage that keeps the CRC right
        count = struct.unpack_from("<I", data, 2)[0] if n is None else n
        return data[:2] + struct.pack("<II", count, zlib.crc32(rest)) + rest

    rest = good[10:]
    bad = {
        "cut_header": good[:8],
        "cut_data": good[:-5],
        "flip_data": good[:-12] + bytes([good[-12] ^ 0x01]) + good[-11:],
        "extra_bytes": good + b"\0",
        "bad_version": b"\x09" + good[1:],
        "bad_codec": signed(b"\x0f" + rest[1:]),
        "bad_width": signed(bytes([(rest[0] & 15) | 3 << 4]) + rest[1:]),
        "count": good,
        "bad_reference": signed(rest[:7 + 24] + b"\x01" + rest[7 + 25 :]),  # time_s predicted from a float column
        "short_body_signed": signed(rest[:-3]),
        "bad_deflate": signed(long[10:-20] + b"\0" * 20, long),
        "deflate_bomb": signed(long[10:], long, 10**9),
    }[damage]
    if damage == "bad_reference":
        assert rest[0] & 15 == 3  # time_s is LINEAR
    with pytest.raises(CorruptChunkError) as caught:
        decode_chunks([good, bad], SAMPLE_DTYPE, None if damage in ("bad_deflate", "deflate_bomb") else
                      [200, 199 if damage == "count" else 200])
    assert caught.value.place == 1 or damage == "bad_reference"


def test_damaged_chunks_in_the_database_name_their_trial_and_chunk(database: Database, client: TestClient, headers: dict) -> None:
    trial_id = _trial(database)
    t = np.arange(300) / 1000.0
    rows = pack_samples(t, np.sin(t), t * 90, -t, np.zeros(300), np.arange(300), np.arange(300) * 1000)
    with database.session() as session:
        append_samples(session, trial_id, rows[:100])
        append_samples(session, trial_id, rows[100:200])
        append_samples(session, trial_id, rows[200:])
        session.commit()
        session.execute(
            update(SampleChunk).where(SampleChunk.trial_id == trial_id, SampleChunk.chunk_index == 1).values(data=b"\x01garbage")
        )
        session.commit()
        with pytest.raises(CorruptSamplesError, match=f"trial {trial_id}: sample chunk 1 \\(layout 3\\) is damaged"):
            read_samples(session, trial_id)
        # a plain chunk of the wrong length does not shift the samples after it
        session.execute(
            update(SampleChunk)
            .where(SampleChunk.trial_id == trial_id, SampleChunk.chunk_index == 1)
            .values(layout=2, data=rows[100:200].tobytes()[:-4])
        )
        session.commit()
        with pytest.raises(CorruptSamplesError, match="sample chunk 1 \\(layout 2\\) is damaged: 5196 bytes"):
            read_samples(session, trial_id)
    response = client.get(f"/api/v1/trials/{trial_id}/samples", headers=headers["viewer"])
    assert response.status_code == 500
    assert "stored data of this resource is damaged" in response.json()["detail"]


# --- the recorder ---------------------------------------------------------------------------------


def test_the_recorder_writes_packed_counts_that_read_back_exactly(database: Database) -> None:
    trial_id = _trial(database, state="recording", calibration="biodex-5v-ads1115")
    collect = MemorySink()
    _record("biodex-5v-ads1115", [collect, DatabaseSink(database, trial_id, load_profile("biodex-5v-ads1115"))], seconds=0.6)
    expected = packed_rows(collect.blocks)
    with database.session() as session:
        stored = read_samples(session, trial_id)
        chunks = session.execute(select(SampleChunk.layout, SampleChunk.data).where(SampleChunk.trial_id == trial_id)).all()
    assert {layout for layout, _ in chunks} == {3}
    assert sum(len(data) for _, data in chunks) / len(expected) < 8
    for name in SAMPLE_DTYPE.names or ():
        assert np.array_equal(np.ascontiguousarray(getattr(stored, name)).view(np.uint8),
                              np.ascontiguousarray(expected[name]).view(np.uint8)), name


# --- migration 0008 ------------------------------------------------------------------------------


def _trial(database: Database, *, state: str = "complete", calibration: str | None = "simulator",
           device_url: str | None = "sim://?seed=5") -> int:
    with database.session() as session:
        subject = Subject(code=f"S-{secrets.token_hex(4)}")
        session.add(subject)
        session.flush()
        visit = LabSession(subject_id=subject.id, date=dt.date(2026, 12, 5))
        session.add(visit)
        session.flush()
        trial = Trial(session_id=visit.id, joint="knee", pattern="flexion/extension", side="left", mode="con/con",
                      velocity_plus_dps=60, velocity_minus_dps=60, repetitions=5, state=state, device_url=device_url,
                      calibration=calibration, sample_rate_hz=1000)
        session.add(trial)
        session.commit()
        return trial.id


def _plain_trials(database: Database, rows: np.ndarray) -> dict[str, int]:
    """A trial stored in layout 2 (recorded, 100-sample chunks, events) and one in layout 1 (before the device clock)."""
    ids = {"layout2": _trial(database), "layout1": _trial(database, calibration="no-such-profile")}
    v1 = np.empty(len(rows), dtype=V1)
    for name in V1.names or ():
        v1[name] = rows[name]
    with database.session() as session:
        for (key, layout, data), per in ((("layout2", 2, rows), 100), (("layout1", 1, v1), 250)):
            for k, start in enumerate(range(0, len(data), per)):
                part = data[start : start + per]
                session.add(SampleChunk(trial_id=ids[key], chunk_index=k, first_time_s=float(part["time_s"][0]),
                                        last_time_s=float(part["time_s"][-1]), sample_count=len(part), layout=layout,
                                        data=part.tobytes()))
            session.add(TrialEvent(trial_id=ids[key], kind="gap", sequence=int(rows["sequence"][1234]), time_s=1.234,
                                   lost_samples=3, detail="device overflow"))
        session.commit()
    return ids


def _exports(database: Database, client: TestClient, headers: dict, ids: dict[str, int]) -> list[bytes]:
    out = []
    for trial_id in ids.values():
        out.append("".join(iter_trial_csv(database, trial_id)).encode())
        for query in ("format=csv", "format=csv&start_s=1.5&end_s=3", "", "start_s=0.5&limit=2000"):
            response = client.get(f"/api/v1/trials/{trial_id}/samples?{query}", headers=headers["viewer"])
            assert response.status_code == 200, response.text
            out.append(response.content)
    return out


def _stored(database: Database, ids: dict[str, int]) -> list[tuple[int, int, bytes]]:
    with database.session() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(SampleChunk.trial_id, SampleChunk.layout, SampleChunk.data)
            .where(SampleChunk.trial_id.in_(list(ids.values()))).order_by(SampleChunk.id)
        )]


def test_migration_0008_converts_every_trial_and_back_exports_byte_for_byte(database: Database, client: TestClient, headers: dict) -> None:
    collect = MemorySink()
    _record("simulator", [collect], seconds=0.6)
    rows = packed_rows(collect.blocks)
    ids = _plain_trials(database, rows)
    before = _exports(database, client, headers, ids)
    assert b"device_time_us" in before[0] and b"device_time_us" not in before[5]  # layout 1: no device clock column
    original = _stored(database, ids)
    migration = _migration()
    migration.BATCH_CHUNKS = 7  # many batches
    with database.engine.begin() as connection:
        converted = migration.convert(connection, {1: 4, 2: 3}, with_scales=True)
    assert converted == len(original)
    packed = _stored(database, ids)
    assert {(t, layout) for t, layout, _ in packed} == {(ids["layout2"], 3), (ids["layout1"], 4)}
    plain_bytes = sum(len(d) for _, _, d in original)
    packed_bytes = sum(len(d) for _, _, d in packed)
    assert packed_bytes < plain_bytes / 4
    assert _exports(database, client, headers, ids) == before
    with database.engine.begin() as connection:
        migration.convert(connection, {3: 2, 4: 1}, with_scales=False)
    assert _stored(database, ids) == original


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (a migration test cannot share the session's, migrated to head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    schema = f"isokin_mig_{secrets.token_hex(6)}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield pg_schema_url(schema)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _alembic(database: Database, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_alembic_upgrade_to_0008_and_downgrade_back(fresh_url: str) -> None:
    database = Database(fresh_url)
    try:
        database.upgrade("0007")
        t = np.arange(1000) / 1000.0
        counts = np.round(np.sin(t * 7) * 20000).astype(np.int64)
        rows = pack_samples(t, counts * 0.0152587890625, 45 + t, -t, np.ones(1000), np.arange(1000), np.arange(1000) * 1000 + 7)
        trial_id = _trial(database)
        with database.session() as session:
            for k in range(10):
                part = rows[k * 100 : (k + 1) * 100]
                session.add(SampleChunk(trial_id=trial_id, chunk_index=k, first_time_s=float(part["time_s"][0]),
                                        last_time_s=float(part["time_s"][-1]), sample_count=100, layout=2, data=part.tobytes()))
            session.add(SampleChunk(trial_id=trial_id, chunk_index=10, first_time_s=2.0, last_time_s=2.0, sample_count=1,
                                    layout=2, data=b"damaged"))
            session.commit()
        original = _stored(database, {"t": trial_id})
        assert database.upgrade() == "0008"
        packed = _stored(database, {"t": trial_id})
        assert [layout for _, layout, _ in packed] == [3] * 10 + [2]  # the damaged chunk is left as it was
        assert packed[-1] == original[-1]
        with database.session() as session:
            with pytest.raises(CorruptSamplesError, match="sample chunk 10"):
                read_samples(session, trial_id)
            session.execute(update(SampleChunk).where(SampleChunk.chunk_index == 10).values(data=rows[:1].tobytes()))
            session.commit()
            back = read_samples(session, trial_id)
        assert np.array_equal(back.torque_nm[:1000].view(np.int64), rows["torque_nm"].view(np.int64))
        assert np.array_equal(back.time_s[:1000].view(np.int64), rows["time_s"].view(np.int64))
        _alembic(database, "downgrade", "0007")
        assert database.revision() == "0007"
        assert _stored(database, {"t": trial_id})[:10] == original[:10]
    finally:
        database.close()


def test_every_layout_in_the_table_round_trips() -> None:
    t = np.arange(50) / 1000.0
    rows = pack_samples(t, np.cos(t), t, -t, np.zeros(50), np.arange(50), np.arange(50) * 1000)
    for layout, spec in LAYOUTS.items():
        part = np.empty(50, dtype=spec.dtype)
        for name in spec.dtype.names or ():
            part[name] = rows[name]
        data = encode_chunk_data(part, layout)
        assert (len(data) < part.nbytes) == spec.packed
        assert _same_bits(decode_chunk_data(layout, [(50, data)]), part)
