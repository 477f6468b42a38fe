"""``isokin analyze`` on the real exports of ../shared/data/real (issue 10): sides, pairings, isometric tests,
passive movements. Skipped when the folder is absent."""

import json
from pathlib import Path

import pytest

from api.cli import main

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real is not available")
S01_60 = REAL / "humac_csv" / "S01 10_59_09 AM 60 5 Right 1.csv"
S02_60 = REAL / "humac_csv" / "S02 10_38_18 AM 60 4 Right 10.csv"
S02_ISO = REAL / "humac_csv" / "S02 10_38_18 AM 70 1 Right 6.csv"


def _json(args, capsys):
    assert main(["analyze", "--json", *map(str, args)]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_left_side_humac_export_is_concentric_and_pairs_with_the_right_side_of_its_session(left_humac, capsys):
    doc = _json(["--joint", "knee", left_humac, S01_60], capsys)
    left, right = doc["recordings"]
    assert [(s["direction"], s["contraction"]) for s in left["sets"]] == [(s["direction"], s["contraction"]) for s in right["sets"]]
    assert {s["contraction"] for s in left["sets"]} == {"concentric"}
    assert left["session"] == right["session"] == "HUMAC test at 10:59:09 AM" and left["subject"] == "S01"
    assert {r["kind"] for r in doc["ratios"]} == {"conventional"}
    flexion = next(b for b in doc["bilateral"] if b["direction"] == "flexion")
    assert (flexion["left_source"], flexion["right_source"]) == (left_humac.name, S01_60.name)
    assert flexion["deficit_percent"] == pytest.approx(0.0, abs=0.01)
    assert [w["rule"] for w in left["warnings"]] == ["velocity_sign_contradicts_position"] and right["warnings"] == []
    assert any(v["text"].startswith("Check: velocity sign contradicted the position") for v in doc["verdict"])


def test_two_subjects_files_are_not_paired_and_raise_no_flag(capsys):
    doc = _json(["--joint", "knee", S01_60, S02_60], capsys)
    assert all(r["numerator"]["source"] == r["denominator"]["source"] for r in doc["ratios"])
    assert doc["bilateral"] == [] and doc["retests"] == []
    (reason,) = [p["reason"] for p in doc["pairing"]["not_paired"]]
    assert reason.startswith("different subjects (S01, S02)")
    assert not any(f["severity"] == "flag" for f in doc["flags"])


def test_two_sessions_of_one_subject_are_a_test_retest_comparison(tmp_path, capsys):
    text = (REAL / "contrex_ctm" / "CTM380.CTM").read_bytes()
    later = tmp_path / "CTM380-retest.CTM"
    later.write_bytes(text.replace(b"21.08.2025", b"02.10.2025"))
    doc = _json([REAL / "contrex_ctm" / "CTM380.CTM", later], capsys)
    assert [r["session"] for r in doc["recordings"]] == ["2025-08-21", "2025-10-02"]
    assert all(r["numerator"]["source"] == r["denominator"]["source"] for r in doc["ratios"])
    (retest,) = doc["retests"]
    assert (retest["subject"], retest["before_session"], retest["after_session"]) == ("S03", "2025-08-21", "2025-10-02")
    changes = {c["label"]: c for c in retest["changes"]}
    assert changes["right knee extension concentric 60 deg/s peak torque"]["change_percent"] == pytest.approx(0.0, abs=1e-6)
    assert "right knee Hcon/Qcon 60/60 deg/s" in changes
    assert any(n["criterion"].startswith("test-retest changes against the smallest real difference")
               for n in doc["not_evaluated"])


def test_the_humac_isometric_export_is_measured_not_refused(capsys):
    doc = _json(["--joint", "knee", S02_ISO], capsys)
    (rec,) = doc["recordings"]
    assert rec["segmentation"] == "isometric"
    (s,) = rec["sets"]
    assert (s["direction"], s["contraction"], s["repetitions"]) == ("unknown", "isometric", 1)
    (c,) = s["contractions"]
    assert c["baseline_torque_nm"] == pytest.approx(3.311, abs=0.01)
    assert c["peak_torque_nm"] == pytest.approx(135.624 - 3.311, abs=0.5)  # net of the torque at rest
    assert c["angle_deg"] == pytest.approx(69.1, abs=0.2) and c["onset_s"] == pytest.approx(1.23, abs=0.03)
    assert c["ends_with_recording"] is True and c["mean_torque_best_1s_nm"] > 120
    assert [w["rule"] for w in rec["warnings"]] == ["torque_unsigned"]


def test_the_machines_fast_return_in_an_extension_only_test_is_passive(capsys):
    doc = _json(["--joint", "knee", S02_60], capsys)
    (rec,) = doc["recordings"]
    assert [(s["direction"], s["contraction"], s["repetitions"]) for s in rec["sets"]] == [("extension", "concentric", 4)]
    passive = rec["passive_movements"]
    assert len(passive) == 4 and {p["movement"] for p in passive} == {"flexion"}
    assert all(170 < p["velocity_dps"] < 185 and "not the test's 60 deg/s" in p["reason"] for p in passive)
    assert not any(f["rule"] == "cv_high" for f in doc["flags"])
