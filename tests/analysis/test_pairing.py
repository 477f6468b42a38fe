"""The pairing rule (issue 10): ratios within a recording or one subject's session and side, deficits across one
session's sides, test-retest changes across sessions, nothing across subjects; every figure names its recordings."""

import pytest

from analysis import analyze_recording, compare


def _rec(synth, side, flexors_nm, *, subject=None, session=None, source=None, gravity=None, extensors_nm=250.0,
         velocity_dps=60.0):
    s = synth(peak_plus_nm=flexors_nm, peak_minus_nm=extensors_nm, noise_nm=0.5, gravity_torque_nm=gravity or 0.0,
              velocity_dps=velocity_dps)
    return analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee", side=side,
                             subject=subject, session=session, source=source or f"{side}-{subject}-{session}.csv",
                             gravity_torque_nm=gravity)


def _hq(comparison):
    return sorted((r.numerator.source, r.denominator.source, round(r.value, 2)) for r in comparison.ratios)


def test_ratios_never_pair_the_sets_of_different_recordings_of_unknown_session(synth):
    test = _rec(synth, "right", 150.0, source="test.csv")
    retest = _rec(synth, "right", 117.0, source="retest.csv", extensors_nm=200.0)
    c = compare([test, retest])
    # each file's own H:Q; never the retest's flexion over the test's extension (0.468 in the issue)
    assert _hq(c) == [("retest.csv", "retest.csv", 0.59), ("test.csv", "test.csv", 0.6)]
    (reason,) = [r for _, r in c.pairing.not_paired]
    assert "subject or session unknown" in reason
    declared = compare([test, retest], same_session=True)
    # the user says they are one session: the retest is a retake of the same side, so its sets are named, not paired
    assert _hq(declared) == [("test.csv", "test.csv", 0.6)]
    assert sum("retest.csv right knee" in note and "a retake" in note for note in declared.not_paired_sets) == 2


def test_different_subjects_are_not_compared_and_no_flag_rests_on_them(synth):
    a = _rec(synth, "left", 150.0, subject="S01", session="2025-08-21")
    b = _rec(synth, "right", 60.0, subject="S02", session="2025-08-21")  # another subject's weak hamstrings
    c = compare([a, b])
    assert c.bilateral == () and c.retests == ()
    assert all(r.numerator.source == r.denominator.source for r in c.ratios)
    assert not {f.rule for f in c.flags} & {"deficit_possible", "deficit_probable", "lsi_low", "ardern_imbalance"}
    assert "different subjects (S01, S02)" in c.pairing.not_paired[0][1]
    with pytest.raises(ValueError, match="different subjects: S01, S02"):
        compare([a, b], same_session=True)


def test_one_subjects_session_pairs_its_sides_and_names_the_recordings(synth):
    left = _rec(synth, "left", 150.0, subject="S01", session="2025-08-21")
    right = _rec(synth, "right", 105.0, subject="S01", session="2025-08-21")
    c = compare([left, right])
    flexion = next(b for b in c.bilateral if b.direction == "flexion")
    assert (flexion.left_source, flexion.right_source) == (left.source, right.source)
    assert flexion.deficit_percent == pytest.approx(30.0, abs=2.0)
    assert {"deficit_probable", "lsi_low"} <= {f.rule for f in c.flags}
    assert {(r.numerator.source, r.denominator.source) for r in c.ratios} == {(left.source,) * 2, (right.source,) * 2}
    (group,) = c.pairing.groups
    assert (group.subject, group.session, group.recordings) == ("S01", "2025-08-21", (0, 1))


def test_two_sessions_of_one_subject_are_a_test_retest_comparison_never_a_ratio(synth):
    before = [_rec(synth, side, 150.0 if side == "left" else 105.0, subject="S01", session="2025-08-21")
              for side in ("left", "right")]
    after = [_rec(synth, side, 150.0 if side == "left" else 135.0, subject="S01", session="2025-10-02")
             for side in ("left", "right")]
    c = compare([after[0], before[0], after[1], before[1]], srd={"peak_torque": (10.0, "a published SRD")})
    assert all(r.numerator.source == r.denominator.source for r in c.ratios)
    assert all({b.left_source, b.right_source} <= {x.source for x in before} or
               {b.left_source, b.right_source} <= {x.source for x in after} for b in c.bilateral)
    (retest,) = c.retests
    assert (retest.subject, retest.before_session, retest.after_session) == ("S01", "2025-08-21", "2025-10-02")
    changes = {ch.label: ch for ch in retest.changes}
    right_flexion = changes["right knee flexion concentric 60 deg/s peak torque"]
    assert right_flexion.change_percent == pytest.approx(100 * (135 - 105) / 105, abs=2.0)
    assert right_flexion.beyond_srd is True and right_flexion.srd_source == "a published SRD"
    assert changes["left knee flexion concentric 60 deg/s peak torque"].beyond_srd is False
    deficit = changes["knee flexion concentric 60 deg/s bilateral deficit"]
    assert deficit.change_points == pytest.approx(10.0 - 30.0, abs=2.0) and deficit.srd is None
    hq = changes["right knee Hcon/Qcon 60/60 deg/s"]
    assert hq.before == pytest.approx(0.42, abs=0.01) and hq.after == pytest.approx(0.54, abs=0.01)
    assert hq.before_sources == (before[1].source,) * 2 and hq.after_sources == (after[1].source,) * 2


def test_a_gravity_corrected_set_never_pairs_with_an_uncorrected_one(synth):
    corrected = _rec(synth, "left", 150.0, subject="S01", session="2025-08-21", gravity=20.0)
    raw = _rec(synth, "right", 150.0, subject="S01", session="2025-08-21")
    c = compare([corrected, raw])
    assert c.bilateral == ()
    assert any("one gravity-corrected, the other not" in note for note in c.not_paired_sets)


def test_retakes_of_one_condition_compare_only_the_sides_strongest_set(synth):
    """Ten retakes a side made a hundred deficits of one muscle group (and as many verdict lines): one now."""
    session = {"subject": "S01", "session": "2025-08-21"}
    lefts = [_rec(synth, "left", flexors, source=f"left-{k}.csv", extensors_nm=extensors, **session)
             for k, (flexors, extensors) in enumerate([(100.0, 240.0), (120.0, 230.0), (110.0, 250.0)])]  # fmt: skip
    rights = [_rec(synth, "right", flexors, source=f"right-{k}.csv", extensors_nm=extensors, **session)
              for k, (flexors, extensors) in enumerate([(140.0, 240.0), (150.0, 255.0)])]  # fmt: skip
    c = compare([lefts[0], rights[0], lefts[1], rights[1], lefts[2]])
    by_direction = {b.direction: b for b in c.bilateral}
    assert len(c.bilateral) == 2
    assert (by_direction["flexion"].left_source, by_direction["flexion"].right_source) == ("left-1.csv", "right-1.csv")
    assert (by_direction["extension"].left_source, by_direction["extension"].right_source) == ("left-2.csv", "right-1.csv")
    assert by_direction["flexion"].deficit_percent == pytest.approx(20.0, abs=2.0)
    # each side's ratio puts its strongest flexion over its strongest extension, whichever retake holds them
    assert _hq(c) == [("left-1.csv", "left-2.csv", 0.48), ("right-1.csv", "right-1.csv", 0.59)]
    retakes = [note for note in c.not_paired_sets if "a retake" in note]
    assert len(retakes) == 2 * 5 - 4  # every set but the four compared
    assert any(note.startswith("left-0.csv left knee flexion concentric 60 deg/s (peak 100.") and "(left-1.csv, 120." in note
               for note in retakes)  # fmt: skip
    assert sum(f.rule == "deficit_probable" for f in c.flags) <= 1


def test_retakes_are_only_collapsed_on_one_known_side(synth):
    """Two recordings of a session whose side is not known may be the two limbs: both are kept."""
    unknown = [_rec(synth, None, flexors, source=f"{k}.csv", subject="S01", session="2025-08-21")
               for k, flexors in enumerate([100.0, 150.0])]  # fmt: skip
    c = compare(unknown)
    assert not [note for note in c.not_paired_sets if "a retake" in note]
    assert {r.numerator.source for r in c.ratios} == {"0.csv", "1.csv"}


def test_a_retest_compares_the_strongest_set_of_each_session(synth):
    before = [_rec(synth, "right", flexors, source=f"before-{k}.csv", subject="S01", session="2025-08-21")
              for k, flexors in enumerate([100.0, 110.0])]  # fmt: skip
    after = _rec(synth, "right", 132.0, source="after.csv", subject="S01", session="2025-10-02")
    (retest,) = compare([*before, after]).retests
    (flexion,) = [ch for ch in retest.changes if ch.label == "right knee flexion concentric 60 deg/s peak torque"]
    assert flexion.before_sources == ("before-1.csv",)
    assert flexion.change_percent == pytest.approx(20.0, abs=2.0)


def test_neighbours_of_a_velocity_spectrum_are_not_retakes(synth):
    """270 and 300 deg/s are within pairing's 10 % but are two tests: both are kept and each pairs with its own
    velocity on the other side; a retake is the same velocity again (here 300 and 305 deg/s)."""
    session = {"subject": "S01", "session": "2025-08-21"}
    lefts = [_rec(synth, "left", flexors, source=f"left-{v:g}.csv", velocity_dps=v, **session)
             for v, flexors in ((270.0, 150.0), (300.0, 140.0), (305.0, 130.0))]  # fmt: skip
    rights = [_rec(synth, "right", 120.0, source=f"right-{v:g}.csv", velocity_dps=v, **session) for v in (270.0, 300.0)]
    c = compare([*lefts, *rights])
    retakes = [note for note in c.not_paired_sets if "a retake" in note]
    assert len(retakes) == 2 and all(note.startswith("left-305.csv left knee") for note in retakes)
    flexion = {(b.left_source, b.right_source) for b in c.bilateral if b.direction == "flexion"}
    assert ("left-270.csv", "right-270.csv") in flexion and ("left-300.csv", "right-300.csv") in flexion
    assert not {"left-305.csv"} & {b.left_source for b in c.bilateral}
