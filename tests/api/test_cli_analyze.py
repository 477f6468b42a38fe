"""``isokin analyze``: tables, the JSON document, overrides and one-line errors."""

import json
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from daq.recording import Recording, write_recording

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


def _recording(side: str, flexors_nm: float, *, joint: str | None = "knee", reps: int = 3) -> Recording:
    """Con/con knee set at 60 deg/s, 200 Hz: trapezoid velocity over 0-90 deg, sine torque curves."""
    fs, v = 200.0, 60.0
    ramp = np.linspace(0.0, v, 10, endpoint=False)
    move = np.concatenate([ramp, np.full(int(1.4 * fs), v), ramp[::-1]])
    pause = np.zeros(40)
    vel = np.concatenate([pause] + [np.concatenate([s * move, pause]) for _ in range(reps) for s in (1, -1)])
    pos = np.concatenate([[0.0], np.cumsum(vel[:-1]) / fs])
    shape = np.sin(np.pi * np.clip(pos / pos.max(), 0, 1))
    torque = np.where(vel > 0, flexors_nm, np.where(vel < 0, -200.0, 0.0)) * shape
    meta = {"side": side, "body_mass_kg": "80", "sample_rate_hz": "200", "subject": "S-01",
            "started_at": "2025-08-21T10:00:00"}  # fmt: skip
    if joint:
        meta["joint"] = joint
    return Recording(np.arange(len(vel)) / fs, torque, pos, vel, metadata=meta)


@pytest.fixture
def pair(tmp_path):
    paths = []
    for side, flex in (("left", 120.0), ("right", 96.0)):
        path = tmp_path / f"{side}.csv"
        write_recording(path, _recording(side, flex))
        paths.append(str(path))
    return paths


def test_json_document_has_recordings_ratios_bilateral_flags_and_parameters(pair, capsys):
    assert main(["analyze", *pair, "--json", "--involved", "right"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["side"] for r in doc["recordings"]] == ["left", "right"]
    sets = {(s["direction"], s["contraction"]): s for s in doc["recordings"][0]["sets"]}
    assert sets[("flexion", "concentric")]["peak_torque_nm"] == pytest.approx(120.0, rel=0.01)
    assert len(sets[("extension", "concentric")]["reps"]) == 3
    assert {r["numerator"]["side"]: round(r["value"], 2) for r in doc["ratios"]} == {"left": 0.6, "right": 0.48}
    flex = next(b for b in doc["bilateral"] if b["direction"] == "flexion")
    assert flex["deficit_percent"] == pytest.approx(20.0, abs=0.5) and flex["involved_side"] == "right"
    assert "deficit_possible" in {f["rule"] for f in doc["flags"]} or "deficit_probable" in {f["rule"] for f in doc["flags"]}
    assert doc["parameters"]["involved_side"] == "right"


def test_default_output_is_tables(pair, capsys):
    assert main(["analyze", *pair]) == 0
    out = capsys.readouterr().out
    assert "== left.csv: left knee flexion/extension" in out and "== Bilateral" in out and "Hcon/Qcon" in out


def test_options_override_metadata_and_thresholds(pair, capsys):
    assert main(["analyze", pair[0], "--json", "--body-mass-kg", "100", "--cutoff-hz", "none",
                 "--window-tolerance-percent", "5", "--min-repetitions", "4", "--inertia-kgm2", "0.5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    s = doc["recordings"][0]["sets"][0]
    assert s["peak_torque_per_kg"] == pytest.approx(s["peak_torque_nm"] / 100.0)
    assert doc["parameters"]["analysis"]["cutoff_hz"] is None
    assert doc["parameters"]["analysis"]["window_tolerance_percent"] == 5.0
    assert doc["parameters"]["analysis"]["inertia_kgm2"] == 0.5
    assert "too_few_repetitions" in {f["rule"] for f in doc["flags"]}


def test_fixed_cutoff_filters_every_set_at_the_given_cutoff(pair, capsys):
    assert main(["analyze", pair[0], "--json"]) == 0
    adaptive = json.loads(capsys.readouterr().out)
    assert main(["analyze", pair[0], "--json", "--cutoff-hz", "12", "--fixed-cutoff"]) == 0
    fixed = json.loads(capsys.readouterr().out)
    assert adaptive["parameters"]["analysis"]["noise_limit_percent"] == 0.25
    assert fixed["parameters"]["analysis"]["noise_limit_percent"] is None
    assert {s["cutoff_hz"] for s in fixed["recordings"][0]["sets"]} == {12.0}
    assert {s["cutoff_hz"] for s in adaptive["recordings"][0]["sets"]} == {20.0}  # noise-free sine curves


def test_gravity_override_changes_the_peaks(pair, capsys):
    main(["analyze", pair[0], "--json"])
    plain = json.loads(capsys.readouterr().out)["recordings"][0]["sets"][0]["peak_torque_nm"]
    main(["analyze", pair[0], "--json", "--gravity-torque-nm", "20", "--horizontal-angle-deg", "0"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["recordings"][0]["gravity_corrected"] is True
    assert doc["recordings"][0]["sets"][0]["peak_torque_nm"] < plain  # flexors lose the limb's weight


def _error(args, capsys) -> str:
    assert main(["analyze", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_errors_are_one_line_naming_the_file(tmp_path, pair, capsys):
    missing = tmp_path / "missing.csv"
    assert "missing.csv" in _error([str(missing)], capsys)
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,torque_nm,position_deg,velocity_dps\n0,1,2\n")
    assert "bad.csv" in _error([str(bad)], capsys)
    still = tmp_path / "still.csv"
    rec = _recording("left", 100.0)
    zeros = np.zeros(len(rec))
    write_recording(still, Recording(rec.time_s, zeros + 4.0, zeros, zeros, metadata=rec.metadata))
    assert "still.csv" in (msg := _error([str(still)], capsys)) and "no repetitions" in msg
    nojoint = tmp_path / "nojoint.csv"
    write_recording(nojoint, _recording("left", 100.0, joint=None))
    assert "--joint" in _error([str(nojoint)], capsys)
    msg = _error([pair[0], "--joint", "kneee"], capsys)
    assert "left.csv" in msg and "unknown joint" in msg


@pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real is not available")
def test_vendor_exports_are_detected_and_a_truncated_one_is_refused(capsys):
    ctm = REAL / "contrex_ctm"
    assert main(["analyze", str(ctm / "CTM380.CTM"), str(ctm / "CTM388.CTM"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [sum(s["repetitions"] for s in r["sets"]) for r in doc["recordings"]] == [6, 40]
    assert all(r["segmentation"] == "markers" for r in doc["recordings"])
    msg = _error([str(ctm / "CTM448-truncated.CTM")], capsys)
    assert "CTM448-truncated.CTM" in msg and "4923" in msg
    humac = REAL / "humac_csv" / "S01 10_59_09 AM 60 5 Right 1.csv"
    assert main(["analyze", str(humac), "--joint", "knee", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recordings"][0]["side"] == "right"


def test_help_shows_only_real_defaults_once(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in out and "default: False" not in out
    assert out.count("(default: the joint's first)") == 1
    assert "(default: 0.18)" in out and "default: 30," in out  # real defaults are still shown


def test_impossible_option_values_are_refused_in_one_line(pair, capsys):
    assert "--body-mass-kg" in _error([pair[0], "--body-mass-kg", "-75"], capsys)
    assert "--body-mass-kg" in _error([pair[0], "--body-mass-kg", "0"], capsys)
    assert "--torque-angle-deg" in _error([pair[0], "--torque-angle-deg", "500"], capsys)
    assert "--horizontal-angle-deg" in _error([pair[0], "--horizontal-angle-deg", "-400"], capsys)


def test_a_torque_angle_outside_the_recording_is_warned_about(pair, capsys):
    assert main(["analyze", pair[0], "--json", "--torque-angle-deg", "120"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "left.csv" in captured.err and "120" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    doc = json.loads(captured.out)
    assert all(r["torque_at_angle_nm"] is None for s in doc["recordings"][0]["sets"] for r in s["reps"])


def test_gaps_known_from_the_sequence_column_are_reported(tmp_path, capsys):
    rec = _recording("left", 120.0)
    n = len(rec)
    keep = np.ones(n, dtype=bool)
    keep[n // 2 : n // 2 + 30] = False  # 30 samples lost, and the time column re-based as if none were
    seq = np.arange(n)[keep]
    cut = Recording(np.arange(keep.sum()) / 200.0, rec.torque_nm[keep], rec.position_deg[keep], rec.velocity_dps[keep],
                    metadata=rec.metadata, extra={"sequence": seq.astype(float)})
    path = tmp_path / "seq.csv"
    write_recording(path, cut)
    assert main(["analyze", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (gap,) = doc["recordings"][0]["gaps"]
    assert gap["samples_lost"] == 30 and gap["reason"] == f"sample index jumps from {n // 2 - 1} to {n // 2 + 30}"
    assert [f["rule"] for f in doc["flags"]].count("recording_gap") == 1


def test_host_time_jitter_in_a_recording_csv_is_no_gap_when_its_sequence_is_contiguous(tmp_path, capsys):
    """A 1 kHz recording whose host times are off by up to 0.7 ms: 0 gaps and every repetition (issue 8)."""
    rec = _recording("left", 120.0)
    fs = 1000.0  # the same movements resampled at 1 kHz
    t = np.arange(int(rec.time_s[-1] * fs)) / fs
    resampled = [np.interp(t, rec.time_s, x) for x in (rec.torque_nm, rec.position_deg, rec.velocity_dps)]
    host = t + 0.7e-3 * np.sin(2 * np.pi * np.arange(len(t)) / 7.3)
    seq = np.arange(len(t), dtype=np.int64)
    path = tmp_path / "jitter.csv"
    write_recording(path, Recording(host, *resampled, metadata=rec.metadata, extra={"sequence": seq}))
    assert main(["analyze", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["recordings"][0]["gaps"] == [] and "recording_gap" not in {f["rule"] for f in doc["flags"]}
    assert [s["repetitions"] for s in doc["recordings"][0]["sets"]] == [3, 3]


def test_the_help_of_every_command_imports_no_heavy_library():
    """`isokin --help` and each subcommand's help build their parsers without scipy, SQLAlchemy or FastAPI
    (scipy.signal alone takes most of a second to import): heavy modules are imported where they are used."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from api.cli import SUBCOMMANDS, build_parser\n"
        "build_parser()\n"
        "heavy = sorted(m for m in ('scipy', 'sqlalchemy', 'fastapi', 'uvicorn', 'pydantic') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_analyze_imports_no_web_framework_and_no_database_library(pair):
    """`isokin analyze` (norms included) needs neither FastAPI nor SQLAlchemy nor Alembic: over half a second of
    imports that a command analysing files should not pay (the service's report part is api.report_norms)."""
    import subprocess
    import sys

    code = (
        "import contextlib, io, sys\n"
        "from api.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['analyze', {pair[0]!r}, {pair[1]!r}]) == 0\n"
        "print(','.join(sorted(m for m in ('sqlalchemy', 'fastapi', 'alembic', 'starlette') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
