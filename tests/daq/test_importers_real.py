"""Importers against the real vendor exports in ``../shared/data/real`` (skipped when absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from daq.errors import RecordingFormatError
from daq.importers import detect_format, load_recording
from daq.recording import Recording

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
HUMAC = REAL / "humac_csv"
CONTREX = REAL / "contrex_ctm"
FT_LB = 1.35581795

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real recordings folder absent")

S01_60 = "S01 10_59_09 AM 60 5 Right 1.csv"
S01_180 = "S01 10_59_09 AM 180 5 Right 2.csv"
S02_NM = "S02 10_38_18 AM 60 4 Right 10.csv"
S02_ISO = "S02 10_38_18 AM 70 1 Right 6.csv"
_cache: dict[Path, Recording] = {}


def load(path: Path) -> Recording:
    if path not in _cache:
        _cache[path] = load_recording(path)
    return _cache[path]


def half_reps(rec: Recording) -> list[slice]:
    """The device's half-repetitions: markers are their boundaries."""
    assert rec.markers is not None
    return [slice(a, b) for a, b in zip(rec.markers[:-1], rec.markers[1:])]


@pytest.mark.parametrize(
    ("folder", "pattern", "expected"),
    [(HUMAC, "S*.csv", "humac-csv"), (CONTREX, "*.CTM", "contrex-ctm")],
)
def test_detects_every_real_export(folder: Path, pattern: str, expected: str) -> None:
    files = sorted(folder.glob(pattern))
    assert len(files) >= 4
    assert {f.name: detect_format(f) for f in files} == {f.name: expected for f in files}


# --- HUMAC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "samples", "peak_ft_lb"), [(S01_60, 1832, 139.1764), (S01_180, 747, 82.6109)])
def test_humac_ft_lb_sample_count_and_units(name: str, samples: int, peak_ft_lb: float) -> None:
    rec = load(HUMAC / name)
    assert len(rec) == samples  # the closing all-zero row is dropped
    assert np.max(np.abs(rec.torque_nm)) == pytest.approx(peak_ft_lb * FT_LB, rel=1e-12)
    assert rec.time_s[0] == 0.0 and np.allclose(np.diff(rec.time_s), 0.01)
    assert rec.metadata["sample_rate_hz"] == "100"


@pytest.mark.parametrize("name", [S01_60, S01_180])
def test_humac_markers_bound_the_ten_end_pnt_half_repetitions(name: str) -> None:
    rec = load(HUMAC / name)
    assert len(half_reps(rec)) == 10
    assert rec.markers is not None and rec.markers[-1] == len(rec)  # the last runs to the end
    if name == S01_60:
        assert rec.markers == (13, 242, 416, 582, 750, 926, 1103, 1290, 1472, 1657, 1832)
    # half-repetitions alternate direction, starting with extension (position decreasing)
    moves = [np.sign(rec.position_deg[s][-1] - rec.position_deg[s][0]) for s in half_reps(rec)]
    assert moves == [-1, 1] * 5


def test_humac_half_repetition_peaks_match_the_reference_results() -> None:
    with open(HUMAC / "reference_peaks.csv", newline="") as f:
        rows = [r for r in csv.reader(f) if r and r[0].startswith("S01")]
    assert len(rows) >= 20
    for row in rows:
        rec = load(HUMAC / row[0])
        segment = half_reps(rec)[int(row[4]) - 1]
        i = segment.start + int(np.argmax(np.abs(rec.torque_nm[segment])))
        assert abs(rec.torque_nm[i]) == pytest.approx(float(row[5]), rel=1e-9)
        assert rec.position_deg[i] == pytest.approx(float(row[9]))
        assert abs(rec.velocity_dps[i]) == pytest.approx(abs(float(row[7])))


@pytest.mark.parametrize("name", [S01_60, S01_180, S02_NM])
def test_humac_flexion_phases_have_positive_velocity_and_torque(name: str) -> None:
    rec = load(HUMAC / name)
    moving = np.abs(rec.velocity_dps) > 45
    flexing, extending = moving & (rec.velocity_dps > 0), moving & (rec.velocity_dps < 0)
    assert flexing.sum() > 100 and extending.sum() > 100
    assert np.all(rec.torque_nm[flexing] >= 0)
    assert np.all(rec.torque_nm[extending] <= 0)
    # position increases toward flexion: velocity is d(position)/dt
    slope = np.gradient(rec.position_deg, rec.time_s)[moving]
    assert np.mean(np.sign(slope) == np.sign(rec.velocity_dps[moving])) > 0.99
    assert rec.metadata["mode"] == "con/con"


def test_humac_metadata_from_the_file_name() -> None:
    rec = load(HUMAC / S01_180)
    meta = rec.metadata
    assert meta["source_format"] == "humac-csv"
    assert (meta["subject"], meta["side"], meta["velocity_dps"], meta["repetitions"]) == ("S01", "right", "180", "5")
    assert (meta["humac_set"], meta["humac_time"]) == ("2", "10:59:09 AM")
    assert load(HUMAC / S01_60).metadata["velocity_dps"] == "60"


def test_humac_keeps_the_status_bits() -> None:
    rec = load(HUMAC / S01_60)
    status = rec.extra["status"]
    assert status.dtype == np.int64
    assert set(np.unique(status)) == {1, 5, 0x15}
    assert status[-1] == 0x15  # "15": end of set, the last row kept


def test_humac_newton_metre_variant() -> None:
    rec = load(HUMAC / S02_NM)
    assert len(rec) == 1093
    assert rec.markers is None
    assert np.max(np.abs(rec.torque_nm)) == pytest.approx(107.676)  # already N.m
    # extension at 60 deg/s, the test's; the machine returns the limb in flexion at 180 deg/s
    assert rec.metadata["velocity_dps"] == "60"
    assert rec.metadata["humac_measured_velocity_dps"] == "180/60"


def test_humac_isometric_keeps_unsigned_torque() -> None:
    rec = load(HUMAC / S02_ISO)
    assert rec.metadata["velocity_dps"] == "0"
    assert rec.metadata["humac_isometric_angle_deg"] == "70"
    assert rec.metadata["mode"] == "isometric" and rec.metadata["torque_sign"] == "unsigned"
    assert np.all(rec.torque_nm >= 0) and np.max(rec.torque_nm) == pytest.approx(135.624)


# --- Con-Trex ------------------------------------------------------------------------------------

CTM = {"CTM380.CTM": (5130, 3, "60", "con/con"), "CTM382.CTM": (2769, 3, "240", "con/con"),
       "CTM384.CTM": (7460, 2, "30", "ecc/ecc"), "CTM388.CTM": (8800, 20, "180", "con/con")}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CTM))
def test_contrex_samples_markers_and_metadata(name: str) -> None:
    samples, reps, velocity, mode = CTM[name]
    rec = load(CONTREX / name)
    assert len(rec) == samples
    assert rec.time_s[-1] == pytest.approx((samples - 1) / 256)
    meta = rec.metadata
    assert (meta["joint"], meta["pattern"], meta["side"]) == ("knee", "flexion/extension", "right")
    assert (meta["velocity_dps"], meta["mode"], meta["repetitions"]) == (velocity, mode, str(reps))
    assert (meta["body_mass_kg"], meta["sample_rate_hz"]) == ("67", "256")
    assert meta["contrex_filter"].startswith("11 Hz")
    # one move marker per direction reversal, bounding 2 half-repetitions per repetition
    assert len(half_reps(rec)) == 2 * reps
    moves = [np.sign(rec.position_deg[s][-1] - rec.position_deg[s][0]) for s in half_reps(rec)]
    assert moves == [-1, 1] * reps  # extension first, then flexion


def test_contrex_markers_are_the_move_indices() -> None:
    assert load(CONTREX / "CTM380.CTM").markers == (1459, 1869, 2288, 2705, 3139, 3553, 3967)


def test_contrex_units_signs_and_angle_zero() -> None:
    rec = load(CONTREX / "CTM380.CTM")
    # first data row "17.913  14.841  -60.331": torque, velocity, angle with extension positive
    assert (rec.torque_nm[0], rec.velocity_dps[0], rec.position_deg[0]) == (-17.913, -14.841, 60.331)
    inside = slice(rec.markers[0], rec.markers[-1]) if rec.markers else slice(None)
    assert np.min(rec.position_deg[inside]) == pytest.approx(5.8, abs=0.2)  # near full extension
    assert np.max(rec.position_deg[inside]) == pytest.approx(86.9, abs=0.2)  # flexed


@pytest.mark.parametrize(("name", "concentric"), [("CTM380.CTM", True), ("CTM388.CTM", True), ("CTM384.CTM", False)])
def test_contrex_load_range_torque_sign_matches_the_mode(name: str, concentric: bool) -> None:
    rec = load(CONTREX / name)
    target = float(rec.metadata["velocity_dps"])
    load_range = np.abs(np.abs(rec.velocity_dps) - target) < 0.1 * target
    product = rec.torque_nm[load_range] * rec.velocity_dps[load_range]
    share = np.mean(product > 0) if concentric else np.mean(product < 0)
    assert share > 0.95


def test_truncated_ctm_is_rejected_with_its_numbers() -> None:
    path = CONTREX / "CTM448-truncated.CTM"
    message = r"CTM448-truncated\.CTM: header promises 4923 samples, file holds 160"
    with pytest.raises(RecordingFormatError, match=message):
        load_recording(path)
    assert detect_format(path) == "contrex-ctm"  # detected, then rejected


@pytest.mark.parametrize(
    ("path", "fmt", "message"),
    [(HUMAC / S01_60, "contrex-ctm", "not a Con-Trex"), (CONTREX / "CTM380.CTM", "humac-csv", "not a HUMAC"),
     (CONTREX / "CTM380.CTM", "isokin-csv", "header must start")],
)  # fmt: skip
def test_a_real_export_read_as_the_wrong_format_is_rejected(path: Path, fmt: str, message: str) -> None:
    with pytest.raises(RecordingFormatError, match=message):
        load_recording(path, format=fmt)


def test_a_left_side_export_whose_speed_sign_contradicts_the_position_is_read_from_the_position(left_humac):
    right, left = load(HUMAC / S01_60), load_recording(left_humac)
    assert left.metadata["side"] == "left" and left.metadata["mode"] == "con/con"
    np.testing.assert_array_equal(left.velocity_dps, right.velocity_dps)  # signed as the position moves
    np.testing.assert_array_equal(left.torque_nm, right.torque_nm)
    assert "warning_velocity_sign_contradicts_position" not in right.metadata
    warning = left.metadata["warning_velocity_sign_contradicts_position"]
    assert "Speed column's sign contradicts the change of position (correlation -1.00" in warning
