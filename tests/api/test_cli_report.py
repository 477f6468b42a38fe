"""``isokin report FILE... --out``: the printed report from recording files, without the service."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from api.report_pdf import fmt, value_at
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, default_profile, simulate_set


def isokin() -> str:
    script = shutil.which("isokin", path=str(Path(sys.executable).parent)) or shutil.which("isokin")
    if script is None:
        pytest.fail("the isokin console script is not installed: run pip install -e '.[test]'")
    return script


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = []
    for side in ("left", "right"):
        sim = simulate_set(default_profile(), SetProtocol(joint="knee", side=side, velocity_dps=60.0, repetitions=3),
                           sample_rate_hz=1000.0, seed=3)  # fmt: skip
        path = tmp_path_factory.mktemp("rec") / f"{side}.csv"
        metadata = {"joint": "knee", "side": side, "subject": "F-07", "started_at": "2026-11-20T09:00:00+00:00",
                    "gravity_torque_nm": str(sim.truth.gravity_torque_nm), "horizontal_angle_deg": "0", "body_mass_kg": "80"}  # fmt: skip
        write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
        out.append(path)
    return out


def test_the_html_report_prints_the_analyze_documents_figures(files: list[Path], tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    done = subprocess.run([isokin(), "report", *map(str, files), "--involved", "left", "--out", str(html), "--json"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {html}" in done.stderr
    document = json.loads(done.stdout)
    analyzed = subprocess.run([isokin(), "analyze", "--json", "--involved", "left", *map(str, files)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert json.loads(analyzed.stdout)["bilateral"] == document["bilateral"]  # the same analysis as isokin analyze
    text = html.read_text()
    cells = re.findall(r'data-path="([^"]+)" data-decimals="(\d+)"(?: data-derive="(\w+)")?[^>]*>([^<]*)<', text)
    assert len(cells) > 40
    for path, decimals, derive, shown in cells:
        assert shown == fmt(value_at(document, path, derive), int(decimals)), path
    assert "F-07" in text and "2026-11-20" in text and "files: left.csv, right.csv" in text
    assert text.count("<svg") >= 3 and "Sapega 1990" in text


def test_the_pdf_report(files: list[Path], tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    done = subprocess.run([isokin(), "report", *map(str, files), "--out", str(pdf)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: apt-get install -y poppler-utils (.ci/run does)")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Isokinetic test report" in text and "Processing log" in text and "left.csv" in text


def test_errors_end_in_one_line(files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", *map(str, files), "--out", str(tmp_path / "nowhere" / "r.pdf")]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "r.pdf")]) == 1
    err = capsys.readouterr().err
    assert "absent.csv" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.pdf").exists()
