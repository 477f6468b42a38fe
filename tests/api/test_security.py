"""Issue 9's attacks, each run against a REAL ``isokin serve``: refused, and nothing changed on disk or in the database.

One server per test module and backend (a SQLite file in its data dir, or a PostgreSQL
schema of its own, so that no other test's tokens or rows mix in), with the in-process
simulator as its device; tokens from
``isokin token create``. Each test takes a snapshot of the data directory (every file's
content but the database's own, which the audit trail appends to) and of the database
(every row of every table but the audit trail and the tokens' ``last_used_at``) before
its attacks and compares after. Tests that damage the database start a server of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import websockets
from sqlalchemy import select, text
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.storage.database import Database
from api.storage.models import ApiToken, AuditEvent, Base
from tests.api.conftest import PG_CONNINFO, IsokinServer, pg_schema_url

pytestmark = pytest.mark.timeout(300)


class Lab:
    """A running server, its data directory, its tokens by role and a database handle for snapshots."""

    def __init__(self, server: IsokinServer, data_dir: Path, database_url: str) -> None:
        self.server = server
        self.data_dir = data_dir
        self.sqlite = database_url.startswith("sqlite")
        self.database = Database(f"sqlite:///{data_dir / 'isokin.db'}" if self.sqlite else database_url)
        self.tokens = {role: server.create_token(role, f"sec {role}") for role in ("admin", "operator", "viewer")}
        self.base = server.start("--device", "sim://?speed=20", "--log-level", "info", wait_for_device=True)
        self.http = httpx.Client(base_url=f"{self.base}/api/v1", timeout=30)
        self.port = int(self.base.rsplit(":", 1)[1])

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def snapshot(self) -> dict[str, Any]:
        """Every row but the audit trail's (and the tokens' last use), and every data-dir file but the database's."""
        rows: dict[str, Any] = {}
        with self.database.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                if table is AuditEvent.__table__:
                    continue
                columns = [c for c in table.columns if c.name not in ("last_used_at", "flushed_at")]
                order = [c for c in table.primary_key.columns]
                rows[table.name] = [tuple(map(str, r)) for r in connection.execute(select(*columns).order_by(*order))]
        files = {
            str(p.relative_to(self.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.data_dir.rglob("*"))
            if p.is_file() and not p.name.startswith("isokin.db") and p.name != "serve.log"
        }
        return {"rows": rows, "files": files}

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.database.close()


@pytest.fixture(scope="module")
def lab(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    data_dir = tmp_path_factory.mktemp("security")
    if database_url.startswith("sqlite"):
        own_url, schema = f"sqlite:///{data_dir / 'isokin.db'}", None
    else:
        schema = f"isokin_sec_{secrets.token_hex(6)}"
        with psycopg.connect(PG_CONNINFO, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        own_url = pg_schema_url(schema)
    server = IsokinServer(own_url, data_dir)
    server.env["ISOKIN_BODY_TIMEOUT_S"] = "3"
    server.env["ISOKIN_MAX_LIVE_SOCKETS"] = "3"
    server.env["ISOKIN_MAX_LIVE_SOCKETS_PER_TOKEN"] = "2"
    lab = Lab(server, data_dir, own_url)
    try:
        yield lab
    finally:
        lab.close()
        if schema is not None:
            with psycopg.connect(PG_CONNINFO, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture()
def session_id(lab: Lab) -> int:
    """A fresh subject and session (made before the test's snapshot)."""
    code = f"SEC-{secrets.token_hex(4)}"
    subject = lab.http.post("/subjects", json={"code": code}, headers=lab.auth("operator")).json()
    return int(lab.http.post("/sessions", json={"subject_id": subject["id"]}, headers=lab.auth("operator")).json()["id"])


def _raw_request(port: int, head: str, body_start: bytes) -> bytes:
    """Send a request's head and the start of its body, then read the answer without sending the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head.encode("latin-1") + body_start)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        head_end = received.find(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in received[:head_end].split(b"\r\n") if line.lower().startswith(b"content-length:")),
            0,
        )
        while len(received) < head_end + 4 + length:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


# --- no way in ------------------------------------------------------------------------------------------


def test_device_urls_outside_the_allow_list_are_422_naming_the_rule_and_touch_nothing(lab: Lab) -> None:
    victim = lab.data_dir / "victim.txt"
    victim.write_text("patient data\n")
    before = lab.snapshot()
    device = lab.http.get("/device", headers=lab.auth("viewer")).json()
    db_file = lab.data_dir / "isokin.db"
    size = db_file.stat().st_size if lab.sqlite else None
    attacks = {
        f"spy:///dev/nonexistent?file={db_file}": "allowed schemes",
        f"spy:///dev/nonexistent?file={victim}": "allowed schemes",
        "loop://": "allowed schemes",
        "rfc2217://isokin-test.invalid:2217": "allowed schemes",
        "socket://isokin-test.invalid:5432": "socket hosts",
        "socket://127.0.0.1:5432?logging=debug": "socket hosts",
        "sim://?profile=/etc/passwd": "sim options",
        "sim://?profile=/etc/shadow": "sim options",
        "sim://?profile=..%2F..%2Fisokin.db": "sim options",
        "sim://?profile=nobody": "sim options",
        "sim://?truth_out=/tmp/x": "sim options",
        "/etc/passwd": "serial device",
        "/dev/null": "serial device",
        "/dev/tty../../etc/passwd": "serial device",
        "/dev/ttyISOKIN-absent": "serial device",
    }
    for url, rule in attacks.items():
        r = lab.http.post("/device/connect", json={"url": url}, headers=lab.auth("operator"))
        assert r.status_code == 422, (url, r.text)
        item = r.json()["detail"][0]
        assert item["loc"] == ["body", "url"] and f"'{rule}'" in item["msg"], (url, item)
        assert "root:" not in r.text and "not valid JSON" not in r.text  # no file was opened to answer
    assert victim.read_text() == "patient data\n"
    if size is not None:
        assert db_file.stat().st_size >= size
    assert subprocess.run([lab.server.command(), "db", "check"], env=lab.server.env, capture_output=True).returncode == 0
    after = lab.http.get("/device", headers=lab.auth("viewer")).json()
    assert (after["state"], after["url"]) == (device["state"], device["url"])  # the device in use stays
    victim.unlink()
    before["files"].pop("victim.txt")
    assert lab.snapshot() == before


def test_no_token_secret_reaches_the_server_output(lab: Lab, session_id: int) -> None:
    viewer = lab.tokens["viewer"]
    trial = lab.http.post(
        f"/sessions/{session_id}/trials", json={"joint": "knee", "side": "left", "repetitions": 1}, headers=lab.auth("operator")
    ).json()
    url = f"ws://127.0.0.1:{lab.port}/api/v1/trials/{trial['id']}/live"

    async def views() -> list[str]:
        seen = []
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {viewer}"}) as ws:
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["state"])
        async with websockets.connect(url, subprotocols=["isokin.live", f"bearer.{viewer}"]) as ws:  # type: ignore[list-item]
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["state"])
        with pytest.raises(InvalidStatus) as refused:  # the URL is no place for a token
            async with websockets.connect(f"{url}?token={viewer}"):
                pass
        assert refused.value.response.status_code == 403  # the handshake refused, as documented
        return seen

    assert asyncio.run(views()) == ["created", "created"]
    assert lab.http.get(f"/trials/{trial['id']}/live", params={"token": viewer}).status_code in (401, 422)
    assert lab.http.get("/subjects", headers={"Authorization": f"Bearer {viewer}x"}).status_code == 401
    log = lab.server.log_path.read_text()
    assert f"/trials/{trial['id']}/live" in log  # the access log was written...
    assert viewer.split("_", 2)[2] not in log  # ...without the secret, even where the client put it in the URL


def test_live_sockets_are_capped_and_a_revoked_tokens_sockets_close(lab: Lab, session_id: int) -> None:
    trial = lab.http.post(
        f"/sessions/{session_id}/trials", json={"joint": "knee", "side": "left", "repetitions": 1}, headers=lab.auth("operator")
    ).json()
    url = f"ws://127.0.0.1:{lab.port}/api/v1/trials/{trial['id']}/live"
    fresh = lab.http.post("/tokens", json={"role": "viewer", "name": "wall display"}, headers=lab.auth("admin")).json()

    async def closed_with(ws: Any) -> tuple[int, str]:
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # a heartbeat a second while the trial waits
                await asyncio.wait_for(ws.recv(), 10)
        return closed.value.rcvd.code, closed.value.rcvd.reason

    async def views() -> None:
        fresh_auth = {"Authorization": f"Bearer {fresh['token']}"}
        held = [await websockets.connect(url, additional_headers=fresh_auth) for _ in range(2)]
        for ws in held:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["state"] == "created"
        async with websockets.connect(url, additional_headers=fresh_auth) as third:  # one token cannot take every place
            code, reason = await closed_with(third)
            assert code == 1013 and "this token has 2 live views open (ISOKIN_MAX_LIVE_SOCKETS_PER_TOKEN)" in reason
        async with websockets.connect(url, additional_headers=lab.auth("viewer")) as last:
            assert json.loads(await asyncio.wait_for(last.recv(), 10))["state"] == "created"
            async with websockets.connect(url, additional_headers=lab.auth("operator")) as one_more:
                code, reason = await closed_with(one_more)
                assert code == 1013 and "3 live views are open (ISOKIN_MAX_LIVE_SOCKETS)" in reason
            await last.send("hello")  # the socket takes no messages
            code, reason = await closed_with(last)
            assert code == 1008 and "takes no messages" in reason
        assert lab.http.delete(f"/tokens/{fresh['id']}", headers=lab.auth("admin")).status_code == 204
        for ws in held:  # revoked: its open views close, and make room
            code, reason = await closed_with(ws)
            assert code == 4401 and "revoked" in reason
        async with websockets.connect(url, additional_headers=lab.auth("operator")) as again:
            assert json.loads(await asyncio.wait_for(again.recv(), 10))["state"] == "created"

    asyncio.run(views())


def test_token_parsing_expiry_revocation_and_the_last_admin(lab: Lab) -> None:
    for bad in ("isk_\u00b2_abc", "isk_\u00b9\u00b2_abc", "isk_1_s\u00e9cret", "isk_99999999999_abc", "isk_0_abc"):
        r = lab.http.get("/subjects", headers={"Authorization": f"Bearer {bad}".encode("latin-1")})  # type: ignore[dict-item]
        assert r.status_code == 401, (bad, r.text)
    created = lab.http.post("/tokens", json={"role": "viewer", "name": "short", "expires_days": 1}, headers=lab.auth("admin"))
    assert created.status_code == 201 and created.json()["expires_at"] is not None
    short = {"Authorization": f"Bearer {created.json()['token']}"}
    assert lab.http.get("/subjects", headers=short).status_code == 200
    with lab.database.engine.begin() as connection:  # a day later
        connection.execute(text("UPDATE api_tokens SET expires_at = created_at WHERE id = :id"), {"id": created.json()["id"]})
    r = lab.http.get("/subjects", headers=short)
    assert r.status_code == 401 and "expired" in r.json()["detail"]

    other = lab.http.post("/tokens", json={"role": "viewer"}, headers=lab.auth("admin")).json()
    assert lab.http.delete(f"/tokens/{other['id']}", headers=lab.auth("admin")).status_code == 204
    assert lab.http.get("/subjects", headers={"Authorization": f"Bearer {other['token']}"}).status_code == 401  # at once

    before = lab.snapshot()
    admin_id = lab.tokens["admin"].split("_")[1]
    r = lab.http.delete(f"/tokens/{admin_id}", headers=lab.auth("admin"))
    assert r.status_code == 409 and "last admin token" in r.json()["detail"]
    assert lab.http.get("/tokens", headers=lab.auth("admin")).status_code == 200
    assert lab.snapshot() == before

    listed = subprocess.run([lab.server.command(), "token", "list"], env=lab.server.env, capture_output=True, text=True)
    assert "expires (UTC)" in listed.stdout and lab.tokens["admin"].split("_", 2)[2] not in listed.stdout


def test_every_write_is_in_the_append_only_audit_trail_without_bodies(lab: Lab) -> None:
    code = "AUDIT-Secret-Code"
    created = lab.http.post("/subjects", json={"code": code, "notes": "knee pain"}, headers=lab.auth("operator"))
    assert created.status_code == 201
    subject_id = created.json()["id"]
    assert lab.http.patch(f"/subjects/{subject_id}", json={"notes": "x"}, headers=lab.auth("viewer")).status_code == 403
    assert lab.http.delete(f"/subjects/{subject_id}", headers=lab.auth("operator")).status_code == 204
    assert lab.http.get("/audit", headers=lab.auth("operator")).status_code == 403
    page = lab.http.get("/audit", params={"limit": 5}, headers=lab.auth("admin")).json()
    assert page["count"] >= 3 and len(page["data"]) == 5
    events = [(e["method"], e["resource"], e["resource_id"], e["status"], e["token_name"]) for e in page["data"][:3]]
    assert events == [
        ("DELETE", "/api/v1/subjects/{subject_id}", str(subject_id), 204, "sec operator"),
        ("PATCH", "/api/v1/subjects/{subject_id}", str(subject_id), 403, "sec viewer"),
        ("POST", "/api/v1/subjects", str(subject_id), 201, "sec operator"),
    ]
    everything = lab.http.get("/audit", params={"limit": 1000}, headers=lab.auth("admin")).text
    assert code not in everything and "knee pain" not in everything
    with pytest.raises(Exception, match="append-only"), lab.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))
    with pytest.raises(Exception, match="append-only"), lab.database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET status = 200"))
    cli = subprocess.run([lab.server.command(), "token", "create", "--role", "viewer"], env=lab.server.env, capture_output=True)
    assert cli.returncode == 0
    newest = lab.http.get("/audit", params={"limit": 1}, headers=lab.auth("admin")).json()["data"][0]
    assert (newest["method"], newest["resource"]) == ("CLI", "isokin token create")


# --- no way to destroy ------------------------------------------------------------------------------------


def test_deleting_a_session_or_subject_while_its_trial_records_is_409(lab: Lab, session_id: int) -> None:
    op = lab.auth("operator")
    subject_id = lab.http.get(f"/sessions/{session_id}", headers=op).json()["subject_id"]
    trial = lab.http.post(
        f"/sessions/{session_id}/trials", json={"joint": "knee", "side": "left", "repetitions": 50}, headers=op
    ).json()
    assert lab.http.post(f"/trials/{trial['id']}/start", headers=op).status_code == 200
    before = lab.snapshot()["rows"]["sessions"]
    for path in (f"/sessions/{session_id}", f"/subjects/{subject_id}", f"/trials/{trial['id']}"):
        r = lab.http.delete(path, headers=op)
        assert r.status_code == 409 and f"trial {trial['id']}" in r.json()["detail"], (path, r.text)
    assert lab.http.get(f"/trials/{trial['id']}", headers=op).json()["state"] == "recording"
    stopped = lab.http.post(f"/trials/{trial['id']}/stop", headers=op).json()
    assert stopped["state"] in ("complete", "interrupted") and stopped["acquisition"]["samples"] > 0
    assert lab.snapshot()["rows"]["sessions"] == before
    samples = lab.http.get(f"/trials/{trial['id']}/samples", params={"limit": 10}, headers=op).json()
    assert samples["count"] == 10  # the recording is all there


ISOKIN_HEAD = "# isokin recording: 1\n# joint: knee\n# side: left\n# mode: con/con\n# velocity_dps: 60\n# sample_rate_hz: 100\n"
ROWS = "time_s,torque_nm,position_deg,velocity_dps\n" + "".join(f"{i / 100:.2f},{i % 50 - 25},{i % 90},60\n" for i in range(300))


@pytest.mark.parametrize(
    ("extra", "rows", "field", "words"),
    [
        ("# mode: con/ecc\n# group: sideways\n# repetitions: 3\n", ROWS, "group", "sideways"),
        ("# repetitions: 9223372036854775808\n", ROWS, "repetitions", "not 1-100"),
        ("# repetitions: 500\n", ROWS, "repetitions", "100"),
        ("# repetitions: 3\n# mode: con/ecc\n# group: abduction\n", ROWS, "group", "not a direction of flexion/extension"),
        ("# repetitions: 3\n", ROWS.replace("0.02,", "0.00,", 1), "file", "time_s must increase strictly"),
        ("# repetitions: 3\n# gravity_torque_nm: 1e300\n", ROWS, "gravity_torque_nm", "within"),
        ("# repetitions: 3\n# sample_rate_hz: -1\n", ROWS, "file", "not a positive rate"),
    ],
)
def test_a_refused_import_stores_nothing(lab: Lab, session_id: int, extra: str, rows: str, field: str, words: str) -> None:
    head = ISOKIN_HEAD.replace("# mode: con/con\n", "") if "# mode:" in extra else ISOKIN_HEAD
    head = head.replace("# sample_rate_hz: 100\n", "") if "# sample_rate_hz:" in extra else head
    before = lab.snapshot()
    r = lab.http.post(
        f"/sessions/{session_id}/imports", files={"file": ("x.csv", head + extra + rows)}, headers=lab.auth("operator")
    )
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert (item["loc"][-1] if item["loc"] else "file") == field and words in item["msg"], item
    assert lab.snapshot() == before


def test_a_damaged_database_is_reported_and_its_errors_stay_in_the_log(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("damages the SQLite file under the server")
    server = IsokinServer(database_url, tmp_path)
    token = server.create_token("operator")
    base = server.start("--device", "none")
    try:
        db = tmp_path / "isokin.db"
        size = db.stat().st_size
        with open(db, "r+b") as f:  # every page but the schema's overwritten: unreadable tables
            f.seek(4096)
            f.write(b"\xa5" * (size - 4096))
        for headers in ({"Authorization": "Bearer isk_5_unknown"}, {"Authorization": f"Bearer {token}"}):
            r = httpx.get(f"{base}/api/v1/subjects", headers=headers, timeout=10)
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["error_id"] in body["detail"] and "isokin db check" in body["detail"]
            assert "SELECT" not in r.text and "api_tokens" not in r.text and str(tmp_path) not in r.text
            assert f"error id {body['error_id']}" in server.log_path.read_text()  # the detail is in the log
        health = httpx.get(f"{base}/api/v1/health", timeout=10).json()
        assert health == {"status": "degraded", "database": {"state": "damaged"}, "device": {"state": "not connected"}}
        check = subprocess.run([server.command(), "db", "check"], env=server.env, capture_output=True, text=True)
        assert check.returncode == 1 and "malformed" in check.stdout
    finally:
        server.stop()


def test_backup_while_serving_and_check(lab: Lab, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    done = subprocess.run([lab.server.command(), "db", "backup", str(target)], env=lab.server.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if not lab.sqlite:
        assert done.stdout.startswith("pg_dump --format=custom --file") and str(target) in done.stdout
        assert not target.exists()
        return
    copy = Database(f"sqlite:///{target}")
    try:
        assert copy.check() == []
        with copy.session() as session, lab.database.session() as live:
            assert session.scalar(select(ApiToken.id).order_by(ApiToken.id)) == live.scalar(select(ApiToken.id).order_by(ApiToken.id))
    finally:
        copy.close()
    again = subprocess.run([lab.server.command(), "db", "backup", str(target)], env=lab.server.env, capture_output=True, text=True)
    assert again.returncode == 1 and "exists" in again.stderr


# --- nothing leaked, nothing odd ---------------------------------------------------------------------------


def test_health_without_a_token_says_only_states(lab: Lab) -> None:
    anonymous = lab.http.get("/health").json()
    assert anonymous == {"status": "ok", "database": {"state": "ok"}, "device": {"state": "connected"}}
    detailed = lab.http.get("/health", headers=lab.auth("viewer")).json()
    assert detailed["device"]["url"] == "sim://?speed=20" and detailed["database"]["revision"]


def test_large_bodies_without_an_operator_token_are_refused_before_they_are_read(lab: Lab, session_id: int) -> None:
    before = lab.snapshot()
    head = (
        f"POST /api/v1/sessions/{session_id}/imports HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 60000000\r\n{auth}\r\n"
    )
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n' + b"y" * 1000
    for auth, status in (("", b"401"), ("Authorization: Bearer isk_1_wrong\r\n", b"401"),
                         (f"Authorization: Bearer {lab.tokens['viewer']}\r\n", b"403")):  # fmt: skip
        answer = _raw_request(lab.port, head.format(auth=auth), part)  # 1 KB of the 60 MB sent
        assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == status, answer[:200]
    assert lab.snapshot() == before


def test_an_upload_that_stops_arriving_is_408(lab: Lab, session_id: int) -> None:
    before = lab.snapshot()
    head = (
        f"POST /api/v1/sessions/{session_id}/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {lab.tokens['operator']}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
    )
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\n\r\ntime_s,'  # then nothing
    answer = _raw_request(lab.port, head, part)  # the server gives up after ISOKIN_BODY_TIMEOUT_S (3 s)
    assert b" 408 " in answer.split(b"\r\n", 1)[0] and b"too slow" in answer, answer[:300]
    assert lab.snapshot() == before


def test_an_upload_bad_at_line_3_is_refused_at_line_3(lab: Lab, session_id: int) -> None:
    before = lab.snapshot()
    body_start = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        b"# isokin recording: 1\ntime_s,torque_nm,position_deg,velocity_dps\n0,0,0,zz\n" + b"0.001,1,2,3\n" * 20_000
    )  # 240 KB of a declared 40 MB
    head = (
        f"POST /api/v1/sessions/{session_id}/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {lab.tokens['operator']}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 40000000\r\n\r\n"
    )
    answer = _raw_request(lab.port, head, body_start)
    status, _, rest = answer.partition(b"\r\n")
    assert b" 422 " in status, answer[:300]
    detail = json.loads(rest.split(b"\r\n\r\n", 1)[1])["detail"][0]
    assert "line 3" in detail["msg"] and "big.csv" in detail["msg"]
    assert lab.snapshot() == before


def test_a_422_never_echoes_an_upload(lab: Lab, session_id: int) -> None:
    big = "x" * 1_000_000
    for data, files in (({"file": big}, None), ({"velocity_dps": big[:1000]}, {"file": ("a.csv", "time_s\n")})):
        r = lab.http.post(f"/sessions/{session_id}/imports", data=data, files=files, headers=lab.auth("operator"))
        assert r.status_code == 422 and len(r.content) < 2000, r.text[:300]


def test_websocket_path_and_query_parameters_are_checked_like_http_ones(lab: Lab) -> None:
    viewer = {"Authorization": f"Bearer {lab.tokens['viewer']}"}
    for path in ("/trials/99999999999/live", "/trials/0/live", "/trials/1/live?since=-1", "/trials/1/live?colour=red"):
        assert lab.http.get(path, headers=viewer).status_code == 422, path

        async def handshake(path: str = path) -> None:
            async with websockets.connect(f"ws://127.0.0.1:{lab.port}/api/v1{path}", additional_headers=viewer):
                pass

        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(handshake())
        assert refused.value.response.status_code == 403, path


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({"code": "S\u202e3"}, "code", "bidirectional"),
        ({"code": "S-x", "notes": "abc\u2066txt"}, "notes", "bidirectional"),
        ({"code": "S-x", "notes": "red \x1b[31m"}, "notes", "control"),
        ({"code": "S\tx"}, "code", "control"),
        ({"code": "S-x", "notes": "\ud800"}, "notes", "surrogate"),
    ],
)
def test_text_fields_refuse_controls_bidi_overrides_and_lone_surrogates(lab: Lab, body: dict, field: str, kind: str) -> None:
    before = lab.snapshot()
    raw = json.dumps(body).encode()  # json escapes the lone surrogate as \ud800, as a client would send it
    r = lab.http.post("/subjects", content=raw, headers=lab.auth("operator") | {"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", field] and kind in item["msg"]
    assert lab.snapshot() == before
    ok = lab.http.post("/subjects", json={"code": f"S-{field}-{kind}", "notes": "line 1\nline 2\ttab"}, headers=lab.auth("operator"))
    assert ok.status_code in (201, 409)  # line breaks and tabs are fine in free text
