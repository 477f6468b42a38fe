"""Protocols: the read-only built-in library and custom protocols."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from analysis.joints import JOINT_PATTERNS, PATTERN_DIRECTIONS
from api.library import BUILTIN_PROTOCOLS, sync_builtin_protocols
from api.storage.database import Database
from api.storage.models import Protocol

URL = "/api/v1/protocols"


def _template(side: str, **extra: object) -> dict:
    return {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": 90, "repetitions": 4} | extra


def _builtins(client: TestClient, headers: dict) -> list[dict]:
    body = client.get(URL, params={"builtin": True, "limit": 1000}, headers=headers["viewer"]).json()
    assert body["count"] == len(body["data"])
    return body["data"]


def test_library_has_the_required_protocols_in_canonical_names(client: TestClient, headers: dict) -> None:
    protocols = _builtins(client, headers)
    assert {p["key"] for p in protocols} == {b.key for b in BUILTIN_PROTOCOLS}
    sets = [(p["key"], t) for p in protocols for t in p["trials"]]
    knee_con = {t["velocity_dps"] for k, t in sets if t["joint"] == "knee" and t["mode"] == "con/con"}
    assert {60, 180, 300} <= knee_con
    assert {t["group"] for _, t in sets if t["joint"] == "knee" and t["mode"] == "con/ecc"} == {"flexion", "extension"}
    patterns = {(t["joint"], t["pattern"]) for _, t in sets}
    for needed in (
        ("shoulder", "external/internal rotation"),
        ("ankle", "plantarflexion/dorsiflexion"),
        ("ankle", "inversion/eversion"),
        ("hip", "flexion/extension"),
        ("elbow", "flexion/extension"),
        ("wrist", "flexion/extension"),
    ):
        assert needed in patterns
    assert any(t["repetitions"] == 25 for _, t in sets)
    for key, t in sets:
        assert t["pattern"] in JOINT_PATTERNS[t["joint"]], key
        assert t["group"] is None or t["group"] in PATTERN_DIRECTIONS[t["pattern"]], key


def test_every_builtin_tests_both_sides_with_the_same_repetitions(client: TestClient, headers: dict) -> None:
    for protocol in _builtins(client, headers):
        sides = {
            side: Counter(
                (t["joint"], t["pattern"], t["mode"], t["group"], t["velocity_plus_dps"], t["repetitions"])
                for t in protocol["trials"]
                if t["side"] == side
            )
            for side in ("left", "right")
        }
        assert sides["left"] and sides["left"] == sides["right"], protocol["key"]


def test_builtins_are_read_only(client: TestClient, headers: dict) -> None:
    pid = _builtins(client, headers)[0]["id"]
    r = client.patch(f"{URL}/{pid}", json={"description": "mine"}, headers=headers["operator"])
    assert r.status_code == 409 and "read-only" in r.json()["detail"]
    assert client.delete(f"{URL}/{pid}", headers=headers["operator"]).status_code == 409
    assert client.get(f"{URL}/{pid}", headers=headers["viewer"]).json()["description"] != "mine"


def test_custom_protocol_crud_resolves_pattern_and_velocities(client: TestClient, headers: dict) -> None:
    body = {"name": "knee 90", "trials": [_template("left", velocity_minus_dps=120), _template("right", velocity_minus_dps=120)]}
    r = client.post(URL, json=body, headers=headers["operator"])
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["builtin"] is False and created["key"] is None
    assert created["trials"][0]["pattern"] == "flexion/extension"
    assert (created["trials"][0]["velocity_plus_dps"], created["trials"][0]["velocity_minus_dps"]) == (90, 120)
    assert client.post(URL, json=body, headers=headers["operator"]).status_code == 409
    r = client.patch(f"{URL}/{created['id']}", json={"name": "knee 90 v2"}, headers=headers["operator"])
    assert r.status_code == 200 and r.json()["name"] == "knee 90 v2" and r.json()["trials"] == created["trials"]
    custom = client.get(URL, params={"builtin": False}, headers=headers["viewer"]).json()
    assert [p["id"] for p in custom["data"]] == [created["id"]]
    assert client.delete(f"{URL}/{created['id']}", headers=headers["operator"]).status_code == 204
    assert client.get(f"{URL}/{created['id']}", headers=headers["viewer"]).status_code == 404


def test_one_sided_or_unequal_protocols_are_refused(client: TestClient, headers: dict) -> None:
    for trials in (
        [_template("left"), _template("left")],
        [_template("left"), _template("right", repetitions=5)],
    ):
        r = client.post(URL, json={"name": "odd", "trials": trials}, headers=headers["operator"])
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "trials"]
        assert "both sides" in r.json()["detail"][0]["msg"]


def test_group_and_pattern_are_checked_against_the_joint(client: TestClient, headers: dict) -> None:
    cases = (
        ({"mode": "con/ecc"}, "group"),
        ({"mode": "con/ecc", "group": "abduction"}, "group"),
        ({"mode": "con/con", "group": "flexion"}, "group"),
        ({"pattern": "inversion/eversion"}, "pattern"),
        ({"rom_min_deg": 90, "rom_max_deg": 0}, "rom_min_deg"),
    )
    for extra, word in cases:
        trials = [_template("left", **extra), _template("right", **extra)]
        r = client.post(URL, json={"name": "bad", "trials": trials}, headers=headers["operator"])
        assert r.status_code == 422, (extra, r.text)
        assert word in r.json()["detail"][0]["msg"], (extra, r.json())
    ok = [_template(s, mode="ecc/con", group="flexion") for s in ("left", "right")]
    assert client.post(URL, json={"name": "ecc flex", "trials": ok}, headers=headers["operator"]).status_code == 201


def test_startup_sync_restores_the_library_without_duplicating_it(
    client: TestClient, headers: dict, database: Database
) -> None:
    with database.session() as session:
        row = session.scalars(select(Protocol).where(Protocol.key == BUILTIN_PROTOCOLS[0].key)).one()
        row.description, row.trials = "tampered", []
        session.commit()
        sync_builtin_protocols(session)
        sync_builtin_protocols(session)
        assert session.scalar(select(func.count()).select_from(Protocol)) == len(BUILTIN_PROTOCOLS)
    restored = client.get(f"{URL}/{row.id}", headers=headers["viewer"]).json()
    assert restored["description"] == BUILTIN_PROTOCOLS[0].description and len(restored["trials"]) == 6
