"""The cache of finished reports: every input edited changes the report; a running trial is never cached
as final; hits take no compute slot; concurrent misses build once; the cache stays within its bytes."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.report_cache import ComputeSlots, ReportCache, cached_report, digest
from api.storage.database import Database
from api.storage.models import Trial
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, default_profile, simulate_set


@pytest.fixture(scope="module")
def knees() -> dict[str, SimulatedSet]:
    return {
        side: simulate_set(default_profile(), SetProtocol(joint="knee", side=side, velocity_dps=60.0, repetitions=3),
                           sample_rate_hz=500.0, seed=3)  # fmt: skip
        for side in ("left", "right")
    }


def _import(client: TestClient, op: dict, session_id: int, sim: SimulatedSet, side: str, tmp: Path) -> int:
    metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": "60", "repetitions": "3"}
    path = tmp / f"{side}-{session_id}.csv"
    write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
    r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())}, headers=op)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _setup(client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp: Path) -> tuple[int, int, dict[str, int]]:
    op = headers["operator"]
    subject = {"code": "C-01", "sex": "male", "birth_year": 1990, "body_mass_kg": 75, "sport": "soccer"}
    subject_id = client.post("/api/v1/subjects", json=subject, headers=op).json()["id"]
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject_id, "date": "2026-10-01"}, headers=op).json()["id"]
    trials = {side: _import(client, op, session_id, sim, side, tmp) for side, sim in knees.items()}
    return int(subject_id), int(session_id), trials


def test_every_input_edited_changes_the_cached_report(
    client: TestClient, app: FastAPI, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    op, viewer = headers["operator"], headers["viewer"]
    subject_id, session_id, trials = _setup(client, headers, knees, tmp_path)
    url = f"/api/v1/sessions/{session_id}/report"
    cache: ReportCache = app.state.report_cache

    def report(**params: object) -> dict:
        first = client.get(url, params=params, headers=viewer)
        hits = cache.hits
        again = client.get(url, params=params, headers=viewer)
        assert first.status_code == again.status_code == 200, first.text
        assert again.content == first.content and cache.hits == hits + 1  # the second one is the cached bytes
        return dict(first.json())

    def per_kg(document: dict) -> list[float]:
        return [s["peak_torque_per_kg"] for r in document["recordings"] for s in r["sets"]]

    base = report()
    assert [t["trial_id"] for t in base["trials"]] == [trials["left"], trials["right"]]

    client.patch(f"/api/v1/subjects/{subject_id}", json={"body_mass_kg": 80}, headers=op).raise_for_status()
    heavier = report()
    assert heavier["subject"]["body_mass_kg"] == 80
    assert per_kg(heavier) == pytest.approx([v * 75 / 80 for v in per_kg(base)])
    for field, value in (("sex", "female"), ("birth_year", 1970), ("sport", "running"), ("code", "C-02")):
        client.patch(f"/api/v1/subjects/{subject_id}", json={field: value}, headers=op).raise_for_status()
        assert report()["subject"][field] == value
    assert report()["norms"]["subject"]["sex"] == "female"

    client.patch(f"/api/v1/sessions/{session_id}", json={"notes": "after the warm-up"}, headers=op).raise_for_status()
    assert report()["session"]["notes"] == "after the warm-up"
    client.patch(f"/api/v1/sessions/{session_id}", json={"date": "2026-10-02"}, headers=op).raise_for_status()
    assert report()["session"]["date"] == "2026-10-02"

    third = _import(client, op, session_id, knees["left"], "left", tmp_path)
    assert [t["trial_id"] for t in report()["trials"]] == [trials["left"], trials["right"], third]
    assert client.delete(f"/api/v1/trials/{third}", headers=op).status_code == 204
    assert [t["trial_id"] for t in report()["trials"]] == [trials["left"], trials["right"]]

    corrected = report(gravity_torque_nm=20, horizontal_angle_deg=0)  # request parameters are part of the key
    assert corrected["recordings"][0]["gravity_corrected"] and not report()["recordings"][0]["gravity_corrected"]
    assert report(involved_side="left")["parameters"]["involved_side"] == "left"

    norms = Path(app.state.settings.data_dir) / "norms"
    norms.mkdir(exist_ok=True)
    try:
        (norms / "broken.csv").write_text("not a reference set\n")
        assert [e["origin"] for e in report()["norms"]["load_errors"]] == [str(norms / "broken.csv")]
    finally:
        (norms / "broken.csv").unlink()
    assert report()["norms"]["load_errors"] == []

    csv_text = client.get(url, params={"format": "csv"}, headers=viewer).text
    client.patch(f"/api/v1/subjects/{subject_id}", json={"code": "C-03"}, headers=op).raise_for_status()
    assert ",C-03," in client.get(url, params={"format": "csv"}, headers=viewer).text and ",C-02," in csv_text


def test_a_trial_still_recording_is_never_cached_as_final(
    client: TestClient, headers: dict, database: Database, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    _, session_id, trials = _setup(client, headers, knees, tmp_path)
    url = f"/api/v1/sessions/{session_id}/report"

    def set_state(state: str) -> None:
        with database.session() as session:
            session.execute(update(Trial).where(Trial.id == trials["right"]).values(state=state))
            session.commit()

    set_state("recording")
    running = client.get(url, headers=headers["viewer"]).json()
    assert [(t["state"], t["reason"]) for t in running["trials"]][1] == ("recording", "still recording")
    assert client.get(url, headers=headers["viewer"]).json() == running
    set_state("complete")
    ended = client.get(url, headers=headers["viewer"]).json()
    assert [t["recording_index"] for t in ended["trials"]] == [0, 1] and len(ended["recordings"]) == 2


def test_goals_protocols_and_other_sessions_change_the_printed_report(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    op, viewer = headers["operator"], headers["viewer"]
    subject_id, session_id, _ = _setup(client, headers, knees, tmp_path)
    url = f"/api/v1/sessions/{session_id}/report.html"
    plain = client.get(url, headers=viewer).text
    assert client.get(url, headers=viewer).text == plain and 'id="goals-h"' not in plain
    goal = client.get(f"/api/v1/subjects/{subject_id}/goals/defaults", headers=viewer).json()["data"][0]
    goal_id = client.post(f"/api/v1/subjects/{subject_id}/goals", json=goal, headers=op).json()["id"]
    with_goal = client.get(url, headers=viewer).text
    assert 'id="goals-h"' in with_goal
    client.patch(f"/api/v1/goals/{goal_id}", json={"target": 42}, headers=op).raise_for_status()
    assert client.get(url, headers=viewer).text != with_goal
    assert client.delete(f"/api/v1/goals/{goal_id}", headers=op).status_code == 204
    assert 'id="goals-h"' not in client.get(url, headers=viewer).text
    client.patch(f"/api/v1/subjects/{subject_id}", json={"code": "C-09"}, headers=op).raise_for_status()
    assert "C-09" in client.get(url, headers=viewer).text


def test_the_history_follows_a_new_session(client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path) -> None:
    op, viewer = headers["operator"], headers["viewer"]
    subject_id, session_id, _ = _setup(client, headers, knees, tmp_path)
    url = f"/api/v1/subjects/{subject_id}/history"
    assert [s["session_id"] for s in client.get(url, headers=viewer).json()["sessions"]] == [session_id]
    later = client.post("/api/v1/sessions", json={"subject_id": subject_id, "date": "2026-11-01"}, headers=op).json()["id"]
    _import(client, op, later, knees["left"], "left", tmp_path)
    history = client.get(url, headers=viewer).json()
    assert [(s["session_id"], s["trials_analysed"]) for s in history["sessions"]] == [(session_id, 2), (later, 1)]
    assert client.delete(f"/api/v1/sessions/{later}", headers=op).status_code == 204
    assert [s["session_id"] for s in client.get(url, headers=viewer).json()["sessions"]] == [session_id]


def test_a_cached_report_takes_no_compute_slot(client: TestClient, app: FastAPI, headers: dict, knees: dict, tmp_path: Path) -> None:
    _, session_id, _ = _setup(client, headers, knees, tmp_path)
    url = f"/api/v1/sessions/{session_id}/report"
    first = client.get(url, headers=headers["viewer"])
    slots: ComputeSlots = app.state.compute_slots
    held = [slots.hold() for _ in range(slots.workers)]
    for slot in held:
        slot.__enter__()
    try:  # every slot busy: a hit still answers at once
        assert client.get(url, headers=headers["viewer"]).content == first.content
    finally:
        for slot in held:
            slot.__exit__(None, None, None)


def test_concurrent_misses_build_once_and_share_the_result() -> None:
    cache = ReportCache()
    release = threading.Event()
    built: list[int] = []

    def build() -> tuple[bytes, bool]:
        built.append(1)
        release.wait()
        return b"report", True

    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build(b"k", build))) for _ in range(8)]
    for thread in threads:
        thread.start()
    while cache.misses < 8:  # every request has missed and waits on the one build
        time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join()
    assert built == [1] and results == [b"report"] * 8 and cache.get_or_build(b"k", build) == b"report" and built == [1]


def test_a_failed_build_reaches_every_waiter_and_stores_nothing() -> None:
    cache = ReportCache()
    with pytest.raises(ValueError, match="no"):
        cache.get_or_build(b"k", lambda: (_ for _ in ()).throw(ValueError("no")))
    assert len(cache) == 0 and cache.get_or_build(b"k", lambda: (b"yes", True)) == b"yes"


def test_the_cache_stays_within_its_bytes_least_recently_used_first() -> None:
    cache = ReportCache(max_bytes=4400)
    for name in (b"a", b"b", b"c"):
        cache.get_or_build(name, lambda: (b"x" * 700, True))
    cache.get_or_build(b"a", lambda: (b"", True))  # a hit: "a" is now the most recently used
    cache.get_or_build(b"d", lambda: (b"x" * 700, True))
    assert cache.size_bytes <= 4400 and len(cache) == 4
    cache.get_or_build(b"e", lambda: (b"x" * 800, True))  # "b", the least recently used, makes room
    assert cache.size_bytes <= 4400 and b"a" in cache._entries and cache.get_or_build(b"b", lambda: (b"rebuilt", True)) == b"rebuilt"
    assert cache.get_or_build(b"big", lambda: (b"x" * 1100, True)) and b"big" not in cache._entries  # over a quarter


def test_a_report_whose_inputs_changed_while_it_was_built_is_not_stored() -> None:
    cache, slots = ReportCache(), ComputeSlots(1, 1.0)
    inputs = iter(range(100))
    assert cached_report(cache, slots, "kind", lambda: next(inputs), lambda: b"old") == b"old"
    assert len(cache) == 0
    steady = cached_report(cache, slots, "kind", lambda: 7, lambda: b"new")
    assert steady == b"new" and len(cache) == 1 and digest(("kind", False, 7)) in cache._entries


def test_a_client_that_takes_gzip_gets_the_same_report_compressed(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    _, session_id, _ = _setup(client, headers, knees, tmp_path)

    def undated(body: bytes) -> bytes:  # the printed report says when it was made (footer, figures' metadata)
        return re.sub(rb"<dc:date>[^<]*</dc:date>|on \d{4}-\d\d-\d\d \d\d:\d\d UTC", b"", body)

    for path in (f"/api/v1/sessions/{session_id}/report", f"/api/v1/sessions/{session_id}/report.html"):
        plain = client.get(path, headers=headers["viewer"] | {"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
        for accept in ("gzip", "gzip, deflate, br", "*"):
            packed = client.get(path, headers=headers["viewer"] | {"Accept-Encoding": accept})
            assert packed.headers["content-encoding"] == "gzip"
            assert undated(packed.content) == undated(plain.content)  # decoded by the client
            assert int(packed.headers["content-length"]) < len(plain.content) / 3
        refused = client.get(path, headers=headers["viewer"] | {"Accept-Encoding": "gzip;q=0, identity"})
        assert "content-encoding" not in refused.headers and refused.content == plain.content


def test_equal_keys_digest_alike_whichever_of_their_values_are_one_object() -> None:
    shared = "".join(["kn", "ee"])
    one = (shared, shared, 1.5)
    two = ("".join(["kn", "ee"]), "".join(["k", "nee"]), 1.5)
    assert one == two and one[0] is one[1] and two[0] is not two[1]
    assert digest(one) == digest(two) and digest(one) != digest((shared, shared, 2.5))
