"""``isokin norms`` (the sets loaded, where from, the files left out) and the norms options of ``isokin analyze``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from api.cli import main
from daq.recording import write_recording
from tests.api.test_cli_analyze import _recording


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of this test's own (its norms/ folder empty), no ISOKIN_NORMS_DIR."""
    monkeypatch.setenv("ISOKIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ISOKIN_NORMS_DIR", raising=False)
    (tmp_path / "data" / "norms").mkdir(parents=True)
    return tmp_path / "data" / "norms"


def test_isokin_norms_lists_the_bundled_sets_and_the_folders(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["norms"]) == 0
    out = capsys.readouterr().out
    for line in ("coombs2002: Coombs & Garbutt 2002, from bundled:coombs2002.csv",
                 "fousekis2010: Fousekis et al. 2010, from bundled:fousekis2010.csv",
                 "population soccer: 100 male professional soccer players", "device Biodex System III",
                 f"  {isolated}\n"):  # fmt: skip
        assert line in out, line
    assert main(["norms", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed["sets"]] == ["coombs2002", "dafonseca2025", "daneshjoo2012", "fousekis2010"]
    assert listed["errors"] == [] and listed["folders"] == [str(isolated)]


def test_a_labs_file_is_listed_from_its_folder_and_a_broken_one_named(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = resources.files("analysis").joinpath("norms_data", "fousekis2010.csv").read_text()
    (isolated / "ours.csv").write_text(text.replace("# id: fousekis2010", "# id: ours"))
    (isolated / "copy.csv").write_text(text)  # the same id as a bundled set
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "typo.csv").write_text(text.replace("peak_torque,knee,extension,concentric,60,right", "peak_torque,knee,extenson,concentric,60,right"))
    assert main(["norms", "--norms-dir", str(extra)]) == 1
    out = capsys.readouterr().out
    assert f"ours: Fousekis et al. 2010, from {isolated / 'ours.csv'}" in out
    assert f"{isolated / 'copy.csv'}: id 'fousekis2010' is already loaded from bundled:fousekis2010.csv: give this set another id" in out
    assert f"{extra / 'typo.csv'}:16: group 'extenson' is not a knee direction" in out
    assert "Left out (2):" in out
    assert main(["norms", "--check", str(isolated / "ours.csv")]) == 0
    assert main(["norms", "--check", str(extra / "typo.csv"), str(tmp_path / "absent.csv")]) == 1


def test_analyze_compares_with_the_options_subject(isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for side, flex in (("left", 120.0), ("right", 96.0)):
        path = tmp_path / f"{side}.csv"
        write_recording(path, _recording(side, flex))
        paths.append(str(path))
    args = ["analyze", *paths, "--json", "--sex", "male", "--birth-year", "1998", "--sport", "soccer"]
    assert main(args + ["--dynamometer", "Biodex System 4"]) == 0
    document = json.loads(capsys.readouterr().out)
    norms = document["norms"]
    assert norms["subject"]["age_years"] == 27.0  # the recordings' year, 2025, minus the birth year
    assert [r["dynamometer"] for r in document["recordings"]] == ["Biodex System 4", "Biodex System 4"]
    assert norms["compared"] == 6
    flexion = next(c for c in norms["comparisons"] if c["label"] == "left knee flexion concentric 60 deg/s"
                   and c["measure"] == "peak_torque")  # fmt: skip
    assert flexion["reference"]["set_id"] == "fousekis2010" and flexion["z"] is not None
    # without a dynamometer (a CSV without calibration), nothing is compared, and the text says why
    assert main(["analyze", *paths, "--sex", "male", "--age-years", "27", "--sport", "soccer"]) == 0
    text = capsys.readouterr().out
    assert "== Normative comparison (0 of 10 figures compared; subject: male, 27 y, soccer)" in text
    assert "the recording's dynamometer is unknown" in text
    assert main(["analyze", *paths, "--age-years", "300"]) == 1
    assert "--age-years must be within 0..130" in capsys.readouterr().err
