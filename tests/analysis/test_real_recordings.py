"""The analysis on real vendor exports (shared/data/real, skipped when absent)."""

import csv
from pathlib import Path

import pytest

from analysis import AnalysisOptions, analyze_recording

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real is not available")

HUMAC = ("S01 10_59_09 AM 60 5 Right 1.csv", "S01 10_59_09 AM 180 5 Right 2.csv")


def _analyse(path: Path, **options):
    from daq.importers import load_recording

    rec = load_recording(path)
    return rec, analyze_recording(
        rec.time_s, rec.torque_nm, rec.position_deg, rec.velocity_dps,
        joint=rec.metadata.get("joint", "knee"), side=rec.metadata.get("side"),
        markers=rec.markers, source=path.name, options=AnalysisOptions(**options),
    )


def _half_reps(analysis):
    return sorted((r for s in analysis.sets for r in s.metrics.reps), key=lambda r: r.start_s)


def _reference_peaks(name: str) -> list[float]:
    with open(REAL / "humac_csv" / "reference_peaks.csv", newline="") as f:
        rows = list(csv.reader(f))[2:]
    return [float(r[5]) for r in rows if r[0] == name]


@pytest.mark.parametrize("name", HUMAC)
@pytest.mark.parametrize("cutoff_hz", [AnalysisOptions().cutoff_hz, None])  # the default options first
def test_humac_unwindowed_half_repetition_peaks_equal_the_reference(name, cutoff_hz):
    # the unwindowed figures are for comparison with vendor software: taken from the raw (unfiltered) torque
    _, analysis = _analyse(REAL / "humac_csv" / name, cutoff_hz=cutoff_hz)
    reps = _half_reps(analysis)
    reference = _reference_peaks(name)
    assert len(reps) == len(reference) == 10
    for rep, peak in zip(reps, reference):
        assert rep.peak_torque_unwindowed_nm == pytest.approx(peak, abs=0.1)


@pytest.mark.parametrize("name", HUMAC)
@pytest.mark.parametrize("cutoff_hz", [AnalysisOptions().cutoff_hz, None])
def test_humac_windowed_peaks_are_never_above_the_reference(name, cutoff_hz):
    # no slack: the windowed peak, found on the filtered curve, is capped at the load range's largest raw sample
    _, analysis = _analyse(REAL / "humac_csv" / name, cutoff_hz=cutoff_hz)
    for rep, peak in zip(_half_reps(analysis), _reference_peaks(name)):
        assert rep.peak_torque_nm is not None
        assert rep.peak_torque_nm <= peak
        assert rep.peak_torque_nm <= rep.peak_torque_unwindowed_nm


@pytest.mark.parametrize("name", ["CTM380.CTM", "CTM382.CTM", "CTM384.CTM", "CTM388.CTM"])
@pytest.mark.parametrize("use_markers", [True, False])
def test_contrex_repetition_counts_match_the_device_markers(name, use_markers):
    rec, analysis = _analyse(REAL / "contrex_ctm" / name, use_markers=use_markers)
    reps = _half_reps(analysis)
    if use_markers:
        assert analysis.segmentation == "markers"
        assert len(reps) == len(rec.markers) - 1
    else:
        # by velocity alone, every movement between the first and last marker is found too
        first, last = rec.time_s[rec.markers[0]], rec.time_s[rec.markers[-1] - 1]
        inside = [r for r in reps if first - 0.05 <= r.start_s and r.end_s <= last + 0.05]
        assert len(inside) == len(rec.markers) - 1


def test_contrex_20_repetition_set_at_180_shows_its_fatigue():
    _, analysis = _analyse(REAL / "contrex_ctm" / "CTM388.CTM")
    sets = {(s.metrics.direction, s.metrics.contraction): s.metrics for s in analysis.sets}
    for key in (("extension", "concentric"), ("flexion", "concentric")):
        s = sets[key]
        assert s.repetitions == 20
        assert s.velocity_dps == pytest.approx(180.0, rel=0.05)
        assert s.work_fatigue_percent > 15.0
        assert s.endurance_ratio < 0.85
        assert s.fatigue_slope_nm_per_rep < 0.0


def test_contrex_ecc_ecc_set_comes_out_eccentric_for_both_groups():
    _, analysis = _analyse(REAL / "contrex_ctm" / "CTM384.CTM")
    assert {(s.metrics.direction, s.metrics.contraction) for s in analysis.sets} == {
        ("flexion", "eccentric"), ("extension", "eccentric")}
