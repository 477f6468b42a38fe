"""The norm comparison and the angle-resolved LSI on the report page, in a real browser against a real ``isokin serve``.

A technician creates a soccer player through the subject form (the sport field), the
simulator (its end-of-range profile: left quadriceps weak near full extension) records both
knees, and the report page shows the LSI angle by angle and the figures against the
reference groups, each printed figure equal to the JSON report's.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from api.report_pdf import fmt, value_at
from tests.api.test_web_browser import ARTIFACTS, Watch, browser, database_url, fits, sign_in  # noqa: F401 - fixtures

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")


def _section_shot(page: Any, selector: str, name: str) -> None:
    """A screenshot of one section of the page, in the test artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _record(http: httpx.Client, session_id: int) -> None:
    for side in ("left", "right"):
        trial = http.post(f"/sessions/{session_id}/trials", json={"joint": "knee", "side": side, "mode": "con/con",
                                                                 "velocity_dps": 60, "repetitions": 5}).json()  # fmt: skip
        assert http.post(f"/trials/{trial['id']}/weigh", json={}).status_code == 200
        assert http.post(f"/trials/{trial['id']}/start").status_code == 200
        deadline = time.monotonic() + 120
        while http.get(f"/trials/{trial['id']}").json()["state"] == "recording":
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_the_report_page_shows_the_angle_lsi_and_the_reference_values(isokin_server: Any, browser: Any) -> None:  # noqa: F811
    isokin_server.env["ISOKIN_DEVICE"] = "sim://?speed=10&profile=end_range_deficit"
    operator = isokin_server.create_token("operator", "station 1")
    base = isokin_server.start(wait_for_device=True)
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watch = Watch(page, base)
    sign_in(page, base, operator)
    page.click("summary:text('New subject')")
    page.fill("input[name=code]", "ACL-01")
    page.select_option("select[name=sex]", "male")
    page.fill("input[name=birth_year]", "1999")
    page.fill("input[name=body_mass_kg]", "75")
    page.select_option("select[name=involved_side]", "left")
    page.fill("input[name=sport]", "soccer")
    fits(page)
    page.click("button:text('Create subject')")
    page.wait_for_selector("h1:text('Subject ACL-01')")
    assert page.locator("dd:text('soccer')").count() == 1
    subject_id = int(page.url.rsplit("/", 1)[1])
    with httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {operator}"}, timeout=120) as http:
        assert http.get(f"/subjects/{subject_id}").json()["sport"] == "soccer"
        session_id = http.post("/sessions", json={"subject_id": subject_id}).json()["id"]
        _record(http, session_id)
        document = http.get(f"/sessions/{session_id}/report").json()
    page.goto(f"{base}/#/sessions/{session_id}/report")
    page.wait_for_selector("section.norms", timeout=120_000)
    fits(page)
    # the verdict names the stretch that peak torque hides
    assert page.locator("section.verdict li").first.inner_text().startswith(
        "Angle by angle, knee extension concentric 60 deg/s: left LSI under 90 % from")
    stretch = page.locator("section.angle-lsi .stretch-low").first.inner_text()
    assert stretch.startswith("left LSI under 90 % from") and stretch.endswith("deg")
    pairs = [b for b in document["bilateral"] if b.get("angle_resolved") and b["angle_resolved"]["angle_deg"]]
    assert page.locator("section.angle-lsi figure svg").count() == len(pairs) == 2  # one figure per pair
    _section_shot(page, "section.angle-lsi", "norms-angle-lsi")
    # every figure of the reference table is the JSON's
    cells = page.locator("section.norms td[data-path]")
    assert cells.count() == 5 * document["norms"]["compared"] == 30
    for k in range(cells.count()):
        cell = cells.nth(k)
        path, decimals = cell.get_attribute("data-path"), int(cell.get_attribute("data-decimals") or 0)
        assert cell.inner_text().strip() == fmt(value_at(document, path), decimals), path
    assert page.locator("section.norms figure svg").count() == 1
    assert "Fousekis et al. 2010" in page.locator("section.norms").inner_text()
    _section_shot(page, "section.norms", "norms-reference-values")
    watch.check()
