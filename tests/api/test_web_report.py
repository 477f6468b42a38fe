"""The printed report (HTML and PDF), re-test goals and the offline docs, through the API on both databases.

The report's figures are checked cell by cell against the JSON report they come from
(each printed cell names its JSON path), and the PDF's text (``pdftotext -layout``) must
hold every row of every table with the same figures in the same order.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.report_pdf import fmt, value_at
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, default_profile, simulate_set

SIDES = ("left", "right")


@pytest.fixture(scope="module")
def knees() -> dict[tuple[str, int], SimulatedSet]:
    """Knee con/con on each side: 60 deg/s x 3 and 180 deg/s x 10 (an endurance-length set), gravity included."""
    return {
        (side, velocity): simulate_set(
            default_profile(),
            SetProtocol(joint="knee", side=side, mode="con/con", velocity_dps=float(velocity), repetitions=reps),
            sample_rate_hz=1000.0,
            seed=5,
        )
        for side in SIDES
        for velocity, reps in ((60, 3), (180, 10))
    }


def import_set(client: TestClient, headers: dict, session_id: int, sim: SimulatedSet, side: str, velocity: int,
               tmp_path: Path, *, weighed: bool = True) -> int:  # fmt: skip
    metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": str(velocity),
                "repetitions": str(len(sim.truth.reps) // 2)}
    if weighed:
        metadata |= {"gravity_torque_nm": str(sim.truth.gravity_torque_nm), "horizontal_angle_deg": "0"}
    path = tmp_path / f"{session_id}-{side}-{velocity}.csv"
    write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
    r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                    headers=headers["operator"])  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_session(client: TestClient, headers: dict, subject_id: int, date: str) -> int:
    r = client.post("/api/v1/sessions", json={"subject_id": subject_id, "date": date}, headers=headers["operator"])
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


class Cells(HTMLParser):
    """Every element with a data-path (the printed figures), and the text of each table row."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, Any]] = []
        self.rows: list[list[str]] = []
        self._open: list[dict[str, Any]] = []
        self._row: list[str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._text = []
        if "data-path" in a:
            self._open.append({"tag": tag, "path": a["data-path"], "decimals": int(a["data-decimals"] or 0),
                               "derive": a.get("data-derive") or "", "text": ""})  # fmt: skip

    def handle_data(self, data: str) -> None:
        for cell in self._open:
            cell["text"] += data
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1]["tag"] == tag:
            self.cells.append(self._open.pop())
        if tag in ("td", "th") and self._row is not None and self._text is not None:
            self._row.append("".join(self._text).strip())
            self._text = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None


def check_cells_against(document: dict[str, Any], html: str) -> Cells:
    """Every printed figure equals its JSON value at the printed precision; returns the parsed cells."""
    parsed = Cells()
    parsed.feed(html)
    assert len(parsed.cells) > 50
    for cell in parsed.cells:
        expected = fmt(value_at(document, cell["path"], cell["derive"]), cell["decimals"])
        assert cell["text"].strip() == expected, cell
    return parsed


def check_pdf_text(pdf: bytes, parsed: Cells, tmp_path: Path) -> str:
    """The PDF's text holds each table row's figures in order, on the line of the row's label."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: apt-get install -y poppler-utils (.ci/run does)")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    checked = 0
    for row in parsed.rows:
        label, figures = row[0], [c for c in row[1:] if re.fullmatch(r"-?\d+\.\d+", c)]
        if not figures or not re.fullmatch(r"[A-Za-z /()%.0-9,-]+", label) or len(label) > 34:
            continue
        pattern = re.escape(label) + "".join(r"\s.*?(?<![\d.])" + re.escape(f) + r"(?![\d])" for f in figures[:4])
        assert any(re.search(pattern, line) for line in lines), (label, figures, [x for x in lines if label[:12] in x])
        checked += 1
    assert checked >= 10
    return text


def test_the_pdf_and_the_page_print_the_json_reports_figures(client: TestClient, headers: dict, knees: dict, tmp_path: Path) -> None:
    subject = client.post("/api/v1/subjects", json={"code": "PDF-1", "sex": "female", "birth_year": 1994, "body_mass_kg": 68,
                                                    "involved_side": "left"}, headers=headers["operator"]).json()  # fmt: skip
    session_id = new_session(client, headers, subject["id"], "2026-11-02")
    for (side, velocity), sim in knees.items():
        import_set(client, headers, session_id, sim, side, velocity, tmp_path)
    document = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()

    page = client.get(f"/api/v1/sessions/{session_id}/report.html", headers=headers["viewer"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parsed = check_cells_against(document, page.text)
    paths = {c["path"] for c in parsed.cells}
    for i in range(len(document["bilateral"])):
        assert f"bilateral/{i}/deficit_percent" in paths
    assert {f"ratios/{i}/value" for i in range(len(document["ratios"]))} <= paths
    assert page.text.count("<svg") >= 6  # overlays and torque-time per velocity, deficits, work per rep, angle ratio
    for heading in ("Findings", "Agonist/antagonist ratios", "Left/right deficits", "Endurance: work per repetition", "Flags",
                    "Processing log"):  # fmt: skip
        assert f">{heading}</h2>" in page.text
    assert "Daneshjoo et al. 2012" in page.text and "Sapega 1990" in page.text  # references and band sources
    assert "PDF-1" in page.text and "female" in page.text and ">32<" in page.text  # header: code, sex, age at the session

    r = client.get(f"/api/v1/sessions/{session_id}/report.pdf", headers=headers["viewer"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:200]
    assert r.content.startswith(b"%PDF") and 'filename="isokin-PDF-1-2026-11-02-session-' in r.headers["content-disposition"]
    text = check_pdf_text(r.content, parsed, tmp_path)
    for flag in document["flags"]:
        assert flag["rule"] in text
    # the PDF is the analysis' JSON, not another analysis: the query parameters reach it too
    narrow = client.get(f"/api/v1/sessions/{session_id}/report.html?deficit_probable_percent=50", headers=headers["viewer"])
    assert "10-20 %: possibly abnormal" in page.text and "10-50 %: possibly abnormal" in narrow.text
    narrow_doc = client.get(f"/api/v1/sessions/{session_id}/report?deficit_probable_percent=50", headers=headers["viewer"]).json()
    check_cells_against(narrow_doc, narrow.text)


def test_report_routes_need_a_token_and_a_known_session(client: TestClient, headers: dict) -> None:
    assert client.get("/api/v1/sessions/1/report.pdf").status_code == 401
    assert client.get("/api/v1/sessions/999999/report.pdf", headers=headers["viewer"]).status_code == 404
    assert client.get("/api/v1/sessions/999999/report.html", headers=headers["viewer"]).status_code == 404
    me = client.get("/api/v1/me", headers=headers["viewer"]).json()
    assert (me["role"], me["may_operate"], me["may_admin"]) == ("viewer", False, False)
    assert client.get("/api/v1/me", headers=headers["operator"]).json()["may_operate"] is True


def test_an_empty_session_still_prints(client: TestClient, headers: dict, tmp_path: Path) -> None:
    subject = client.post("/api/v1/subjects", json={"code": "<b>X&Y</b>"}, headers=headers["operator"]).json()
    session_id = new_session(client, headers, subject["id"], "2026-11-03")
    html = client.get(f"/api/v1/sessions/{session_id}/report.html", headers=headers["viewer"]).text
    assert "&lt;b&gt;X&amp;Y&lt;/b&gt;" in html and "<b>X" not in html  # the subject code is escaped
    assert "No deficit" in html and "No ratio" in html
    r = client.get(f"/api/v1/sessions/{session_id}/report.pdf", headers=headers["viewer"])
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_goals_defaults_progress_and_report(client: TestClient, headers: dict, knees: dict, tmp_path: Path) -> None:
    op, viewer = headers["operator"], headers["viewer"]
    subject_id = client.post("/api/v1/subjects", json={"code": "G-1", "involved_side": "left", "body_mass_kg": 70},
                             headers=op).json()["id"]  # fmt: skip
    first = new_session(client, headers, subject_id, "2026-10-01")
    uncorrected = new_session(client, headers, subject_id, "2026-10-15")
    retest = new_session(client, headers, subject_id, "2026-11-01")
    for side in SIDES:
        import_set(client, headers, first, knees[(side, 60)], side, 60, tmp_path)
        import_set(client, headers, uncorrected, knees[(side, 60)], side, 60, tmp_path, weighed=False)
    # the re-test: the same left leg, but the right one (the reference) weaker, so the left deficit shrinks
    import_set(client, headers, retest, knees[("left", 60)], "left", 60, tmp_path)
    weaker = simulate_set(default_profile(), SetProtocol(joint="knee", side="left", mode="con/con", velocity_dps=60.0,
                                                         repetitions=3), sample_rate_hz=1000.0, seed=9)  # fmt: skip
    import_set(client, headers, retest, weaker, "right", 60, tmp_path)

    defaults = client.get(f"/api/v1/subjects/{subject_id}/goals/defaults?lsi_min_percent=85", headers=viewer).json()
    by_measure = {(g["measure"], g["kind"]): g for g in defaults["data"]}
    assert by_measure[("lsi", None)]["target"] == 85 and "return-to-sport" in by_measure[("lsi", None)]["source"]
    assert by_measure[("ratio", "conventional")]["target"] == 0.47 and "Ardern" in by_measure[("ratio", "conventional")]["source"]
    assert by_measure[("deficit", None)]["comparison"] == "<" and "Sapega" in by_measure[("deficit", None)]["source"]

    lsi = client.post(f"/api/v1/subjects/{subject_id}/goals", json=by_measure[("lsi", None)] | {"label": "flexion"}, headers=op)
    assert lsi.status_code == 201, lsi.text
    assert lsi.json()["title"] == "LSI, flexion"
    assert client.post(f"/api/v1/subjects/{subject_id}/goals", json=by_measure[("lsi", None)], headers=viewer).status_code == 403
    bad = client.post(f"/api/v1/subjects/{subject_id}/goals", json={"measure": "lsi", "side": "left", "comparison": ">=",
                                                                     "target": 90}, headers=op)  # fmt: skip
    assert bad.status_code == 422 and "ratio goals only" in bad.text
    hq = client.post(f"/api/v1/subjects/{subject_id}/goals", json=by_measure[("ratio", "conventional")] | {"side": "left"}, headers=op)
    assert hq.status_code == 201

    progress = client.get(f"/api/v1/subjects/{subject_id}/goals/progress", headers=viewer).json()
    lsi_sessions = progress["goals"][0]["sessions"]
    assert [s["session_id"] for s in lsi_sessions] == [first, uncorrected, retest]
    (at_first,), (at_uncorrected,), (at_retest,) = (s["items"] for s in lsi_sessions)
    report_first = client.get(f"/api/v1/sessions/{first}/report", headers=viewer).json()
    flexion = next(b for b in report_first["bilateral"] if b["direction"] == "flexion")
    assert at_first["value"] == pytest.approx(flexion["lsi_percent"]) and at_first["gravity_corrected"] is True
    assert lsi_sessions[0]["status"] == ("met" if flexion["lsi_percent"] >= 85 else "not met")
    assert at_first["change"] is None and at_first["first_value"] is None  # the first test
    # uncorrected values are never compared with corrected ones
    assert at_uncorrected["gravity_corrected"] is False and at_uncorrected["change"] is None
    assert at_retest["gravity_corrected"] is True and at_retest["first_session_id"] == first
    assert at_retest["change"] == pytest.approx(at_retest["value"] - at_first["value"])
    assert at_retest["value"] > at_first["value"]  # the deficit shrank against the weaker right leg
    hq_items = progress["goals"][1]["sessions"][0]["items"]
    assert [i["label"] for i in hq_items] == ["Hcon/Qcon conventional 60 deg/s (left)"]

    html = client.get(f"/api/v1/sessions/{retest}/report.html", headers=viewer).text
    goals_part = html.split('id="goals-h"')[1].split("</section>")[0]
    assert "LSI, flexion" in goals_part and f"{at_first['value']:.1f} % (2026-10-01)" in goals_part
    assert f"{at_retest['change']:+.1f} points" in goals_part and "return-to-sport" in goals_part

    goal_id = lsi.json()["id"]
    assert client.patch(f"/api/v1/goals/{goal_id}", json={"target": 95}, headers=op).json()["target"] == 95
    assert client.patch(f"/api/v1/goals/{goal_id}", json={"kind": "mixed"}, headers=op).status_code == 422
    assert client.patch(f"/api/v1/goals/{goal_id}", json={"target": None}, headers=op).status_code == 422
    assert client.delete(f"/api/v1/goals/{goal_id}", headers=op).status_code == 204
    assert client.get(f"/api/v1/subjects/{subject_id}/goals", headers=viewer).json()["count"] == 1
    assert client.delete(f"/api/v1/subjects/{subject_id}", headers=op).status_code == 204  # goals go with the subject


def test_docs_and_the_app_are_served_from_the_package_only(client: TestClient) -> None:
    for page in ("/", "/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"] and "script-src 'self'" in r.headers["content-security-policy"]
        assert "<script>" not in r.text  # no inline script (the CSP would block it)
        assets = re.findall(r'(?:src|href)="([^"#]+)"', r.text)
        assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    for vendored in ("uplot/LICENSE", "swagger-ui/LICENSE", "redoc/LICENSE", "README.md"):
        assert client.get(f"/static/vendor/{vendored}").status_code == 200
    assert "cdn.redoc.ly" not in client.get("/static/vendor/redoc/redoc.standalone.js").text
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/static/../api/main.py").status_code == 404
