"""The web app in a real browser (Debian's chromium driven by Playwright) against a real ``isokin serve``.

A technician signs in, creates a subject and a session, runs a two-side knee protocol
through the run screen on the simulator (the live plot draws points while each set
records), opens the report (its figures equal ``GET .../report``), downloads the PDF
(its text holds the same figures), sets re-test goals, and looks at the device page and
the API docs. Every request must stay on 127.0.0.1: other hosts do not even resolve.
Screenshots of each screen go to ``test-artifacts/web/`` (or ``$ISOKIN_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.report_pdf import fmt, value_at

playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")

CHROMIUM = "/usr/bin/chromium"
#: Chromium offline but for this machine: other hosts do not resolve, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]  # fmt: skip
ARTIFACTS = Path(os.environ.get("ISOKIN_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "web"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The browser tests run on SQLite only (the API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path_factory.mktemp('web') / 'isokin.db'}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)", pytrace=False)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watch:
    """Every request the page makes, every console error and every CSP violation."""

    def __init__(self, page: Any, base: str) -> None:
        self.base, self.requests, self.errors = base, [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def check(self) -> None:
        foreign = [u for u in self.requests if not (u.startswith(self.base) or u.startswith(("data:", "blob:")))]
        assert not foreign, foreign
        assert len(self.requests) > 10
        assert not [e for e in self.errors if "Content Security Policy" in e or "page error" in e], self.errors


def shot(page: Any, name: str, *, full: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def fits(page: Any) -> None:
    """Nothing wider than the window (readable without sideways scrolling), every field labelled."""
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"page is {width} px wider than the window"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('main input, main select, main textarea')]
             .filter((el) => el.type !== 'hidden' && !el.labels.length && !el.getAttribute('aria-label'))
             .map((el) => el.name || el.outerHTML.slice(0, 80))"""
    )
    assert not unlabelled, unlabelled


def sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/")
    page.wait_for_selector("input[name=token]")
    page.focus("input[name=token]")
    page.keyboard.type(token)
    page.keyboard.press("Enter")  # the keyboard alone signs in
    page.wait_for_selector("h1:text-is('Subjects')")


def test_a_two_side_knee_protocol_from_sign_in_to_the_printed_report(
    isokin_server: Any, browser: Any, tmp_path: Path
) -> None:
    isokin_server.env["ISOKIN_DEVICE"] = "sim://?speed=10"
    operator = isokin_server.create_token("operator", "station 1")
    viewer = isokin_server.create_token("viewer", "clinician")
    base = isokin_server.start(wait_for_device=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    watch = Watch(page, base)

    # sign in, create a subject
    page.goto(f"{base}/")
    page.wait_for_selector("input[name=token]")
    fits(page)
    shot(page, "01-sign-in")
    sign_in(page, base, operator)
    page.click("summary:text('New subject')")
    page.fill("input[name=code]", "W-01")
    page.select_option("select[name=sex]", "female")
    page.fill("input[name=birth_year]", "1994")
    page.fill("input[name=body_mass_kg]", "68")
    page.select_option("select[name=involved_side]", "left")
    fits(page)
    shot(page, "02-subjects")
    page.click("button:text('Create subject')")
    page.wait_for_selector("h1:text('Subject W-01')")

    # a session, then the run screen: the built-in knee protocol, both sides, set by set
    page.click("button:text('New session and run a test')")
    page.wait_for_selector("h1:text('Run a test')")
    shot(page, "03-run-choose")
    page.select_option("select[name=protocol]", label="Knee flexion/extension con/con 60-180-300 deg/s")
    page.click("button:text('Start this protocol')")
    live_stats: list[dict[str, Any]] = []
    carried = 0
    for index in range(6):
        start = f"button:text('Start set {index + 1}')"
        page.wait_for_selector(start)
        if page.inner_text(".weigh-result").startswith("Limb weight carried over from set"):
            carried += 1  # the same side's earlier weighing holds for this set; it is stored on the trial
        else:
            page.click("button:text('Weigh the limb')")
            page.wait_for_selector("text=Limb weighed: W =", timeout=60_000)
        if index == 0:
            fits(page)
            shot(page, "04-run-set-ready")
        page.click(start)
        # the live plot receives points while the set records
        page.wait_for_function(
            "() => window.isokinLive && window.isokinLive.binsDrawn > 20 && "
            "document.querySelector('.live-status .pill').textContent === 'recording'",
            timeout=60_000,
        )
        if index == 0:  # mid-set, for the picture
            page.wait_for_function("() => window.isokinLive.binsDrawn > 400 || !document.querySelector('.live-status')",
                                   timeout=60_000)  # fmt: skip
            shot(page, "05-run-live")
        page.wait_for_selector("#fig-h", timeout=120_000)
        stats = page.evaluate("({...window.isokinLive, drawTimes: undefined})")
        live_stats.append(stats)
        assert stats["binsDrawn"] == stats["binsReceived"] > 100  # every bin received was drawn
        # the display is redrawn between messages (played out on its own clock), not once per message
        assert stats["draws"] >= 2 * stats["messagesWithBins"], stats
        figures = page.inner_text(".set-figures")
        assert "extension concentric" in figures and "flexion concentric" in figures
        assert figures.startswith("Gravity-corrected"), figures
        if index == 0:
            fits(page)
            shot(page, "06-run-set-figures")
        if index < 5:
            page.click(f"button:text('Next: set {index + 2}')")
    assert carried == 4  # weighed once per side, carried over to that side's two later sets
    fps = [(s["draws"] - 1) * 1000 / (s["lastDrawMs"] - s["firstDrawMs"]) for s in live_stats]
    (ARTIFACTS / "live-fps.json").write_text(json.dumps({"fps_per_set": fps, "stats": live_stats}, indent=1))
    print(f"live display frames per second per set (sim speed 10): {[round(f) for f in fps]}")

    # the report page: every printed figure equals the JSON report's at its printed precision
    page.click("a:text('Open the session report')")
    page.wait_for_selector(".report-body[data-ready=true]", timeout=120_000)
    session_id = int(re.search(r"#/sessions/(\d+)/report", page.url).group(1))  # type: ignore[union-attr]
    document = httpx.get(f"{base}/api/v1/sessions/{session_id}/report", headers={"Authorization": f"Bearer {viewer}"},
                         timeout=60).json()  # fmt: skip
    cells = page.evaluate(
        """[...document.querySelectorAll('.report-body [data-path]')].map((el) => ({
             path: el.dataset.path, decimals: Number(el.dataset.decimals), derive: el.dataset.derive || '', text: el.textContent.trim()}))"""
    )
    assert len(cells) > 150
    for cell in cells:
        assert cell["text"] == fmt(value_at(document, cell["path"], cell["derive"]), cell["decimals"]), cell
    assert len(document["recordings"]) == 6 and len(document["bilateral"]) == 6
    fits(page)
    shot(page, "07-report", full=True)
    shot(page, "07-report-top")

    # the PDF from the "Print / PDF" button holds the same figures
    with page.expect_download(timeout=120_000) as download:
        page.click("button:text('Print / PDF')")
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: apt-get install -y poppler-utils (.ci/run does)")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for cell in cells:  # every figure but the per-repetition work series (it wraps; checked on the page above)
        if not re.search(r"/reps/\d+/work_j$", cell["path"]):
            assert cell["text"] in text, cell
    for b in document["bilateral"]:
        assert fmt(b["deficit_percent"], 1) in text and fmt(b["lsi_percent"], 1) in text

    # the subject page: history and re-test goals from the configured thresholds
    page.click("a:text('W-01')")
    page.wait_for_selector("h2:text('History')")
    page.wait_for_selector(".chart.history", timeout=60_000)
    page.click("button:text('Add the default goals')")
    page.wait_for_selector(".goal h3", timeout=60_000)
    page.wait_for_selector("#hist-h ~ .chart.history")
    goals = page.inner_text("section[aria-labelledby=goals-h]")
    assert "LSI, every group >= 90.0 %" in goals and "Sapega 1990" in goals and "not met" in goals
    fits(page)
    shot(page, "08-subject", full=True)

    # the device page
    page.click("#nav a:text('Device')")
    page.wait_for_selector("h2:text('Identity')")
    assert "isokin-sim" in page.inner_text("main")
    fits(page)
    shot(page, "09-device", full=True)

    # a viewer sees the report but no operator control
    page.click("button:text('Sign out')")
    sign_in(page, base, viewer)
    page.click("a:text('W-01')")
    page.wait_for_selector("h2:text('Sessions')")
    assert page.locator("text=New session and run a test").count() == 0
    assert page.locator("summary:text('Edit')").count() == 0 and page.locator("text=Run a test").count() == 0
    page.goto(f"{base}/#/sessions/{session_id}/run")
    page.wait_for_selector("text=Running a test needs an operator token")

    # a 1024x768 tablet: the run screen and the report fit
    tablet = context.new_page()
    tablet_watch = Watch(tablet, base)
    tablet.set_viewport_size({"width": 1024, "height": 768})
    sign_in(tablet, base, operator)
    tablet.goto(f"{base}/#/sessions/{session_id}/report")
    tablet.wait_for_selector(".report-body[data-ready=true]", timeout=120_000)
    fits(tablet)
    shot(tablet, "10-report-1024")
    tablet.goto(f"{base}/#/sessions/{session_id}/run")
    tablet.click("button:text('Start this protocol')")
    tablet.wait_for_selector("text=Protocol complete")
    tablet.goto(f"{base}/#/subjects")
    tablet.wait_for_selector("h1:text-is('Subjects')")
    fits(tablet)

    # the API docs render completely from the package
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=60_000)
    operations = sum(len(ops) for ops in httpx.get(f"{base}/openapi.json").json()["paths"].values())
    assert page.locator(".opblock").count() == operations > 40  # every operation rendered
    shot(page, "11-docs")
    page.goto(f"{base}/redoc")
    page.wait_for_selector("h2:text('Session report as a PDF: tables, torque-angle overlays, deficits, ratios, flags, processing log')",
                           timeout=60_000)  # fmt: skip
    shot(page, "12-redoc")
    watch.check()
    tablet_watch.check()
    context.close()


def test_a_device_that_drops_mid_set_shows_it_and_the_gap(isokin_server: Any, browser: Any) -> None:
    # the simulated link drops 3 device-seconds into the set and comes back 0.5 s later
    isokin_server.env["ISOKIN_DEVICE"] = "sim://?speed=5&fault_disconnect_after=3&fault_reconnect_delay=0.5"
    operator = isokin_server.create_token("operator")
    base = isokin_server.start(wait_for_device=True)
    headers = {"Authorization": f"Bearer {operator}"}
    subject = httpx.post(f"{base}/api/v1/subjects", json={"code": "D-01"}, headers=headers).json()
    session = httpx.post(f"{base}/api/v1/sessions", json={"subject_id": subject["id"]}, headers=headers).json()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watch = Watch(page, base)
    sign_in(page, base, operator)
    page.goto(f"{base}/#/sessions/{session['id']}/run")
    page.click("button:text('Run one trial')")
    page.click("button:text('Start set 1')")
    page.wait_for_selector(".live .msg.error:not([hidden])", timeout=60_000)  # the drop, then the gap, said while recording
    assert re.search(r"Device (reconnecting|lost)|gap\(s\) in this recording", page.inner_text(".live"))
    shot(page, "13-run-device-dropped-live")
    page.wait_for_selector("#fig-h", timeout=120_000)
    trial = httpx.get(f"{base}/api/v1/sessions/{session['id']}/trials", headers=headers).json()["data"][0]
    assert trial["acquisition"]["reconnects"] >= 1 and trial["acquisition"]["gaps"] >= 1
    shown = page.inner_text("main")
    assert f"{trial['acquisition']['lost_samples']} lost, {trial['acquisition']['reconnects']} reconnects" in shown
    assert "Acquisition events" in shown and "gap at" in shown and "disconnected" in shown
    # the set was not weighed: its figures say they carry the limb's weight
    assert page.inner_text(".set-figures").startswith("Not gravity-corrected: the limb was not weighed"), shown
    shot(page, "14-run-device-dropped-figures")
    watch.check()
    context.close()
