"""Subject profiles: JSON round trip, clear errors, and the default subject as documented."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from simulators.joints import DEFAULT_ROM_DEG, JOINT_PATTERNS, PATTERN_DIRECTIONS
from simulators.model import SetProtocol, SubjectProfile, default_profile, simulate_set

PROFILE = default_profile()
DEFAULT_JSON = Path(__file__).resolve().parents[2] / "simulators" / "profiles" / "default.json"


def set_peak(side: str, group: str, velocity_dps: float, **options: Any) -> float:
    proto = SetProtocol(joint="knee", side=side, velocity_dps=velocity_dps)
    sim = simulate_set(PROFILE, proto, seed=1, **options)
    return max(r.peak_torque_nm for r in sim.truth.reps if r.group == group)


def test_profile_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "subject.json"
    PROFILE.to_json(path)
    assert SubjectProfile.from_json(path) == PROFILE
    assert SubjectProfile.from_dict(json.loads(path.read_text())) == PROFILE
    assert SubjectProfile.from_json(DEFAULT_JSON) == PROFILE


def test_per_side_values_are_kept_and_equal_sides_written_once() -> None:
    data = PROFILE.to_dict()
    flexion = data["joints"]["knee"]["flexion/extension"]["groups"]["flexion"]
    assert flexion["peak_torque_nm"] == {"left": 105.8, "right": 141.0}
    assert flexion["optimal_angle_deg"] == 30.0


def _mutated(path: tuple[str, ...], value: object) -> dict:
    data = copy.deepcopy(PROFILE.to_dict())
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()
_FLEX = ("joints", "knee", "flexion/extension", "groups", "flexion")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("body_mass_kg",), -75.0, "body_mass_kg: must be > 0"),
        (("body_mass_kg",), "heavy", "body_mass_kg: must be a finite number"),
        (("variability_cv",), _DELETE, "profile: missing field 'variability_cv'"),
        (("colour",), "blue", "profile: unknown field 'colour'"),
        (("joints", "neck"), {}, "joints.neck: unknown joint"),
        (("joints", "knee", "abduction/adduction"), {}, "joints.knee.abduction/adduction: unknown pattern"),
        (_FLEX + ("curvature",), 0.0, "joints.knee.flexion/extension.groups.flexion.curvature: must be > 0"),
        (_FLEX + ("peak_torque_nm",), {"left": 100.0}, "groups.flexion.peak_torque_nm: missing field 'right'"),
        (_FLEX + ("peak_torque_nm",), {"left": 100.0, "right": None}, "peak_torque_nm.right: must be a finite number"),
        (_FLEX + ("max_velocity_dps",), 50.0, "max_velocity_dps: must exceed reference_velocity_dps"),
        (("joints", "knee", "flexion/extension", "groups", "extension"), _DELETE, "groups: missing field 'extension'"),
        (("joints", "knee", "flexion/extension", "gravity_torque_nm"), True, "gravity_torque_nm: must be a finite number"),
    ],
)
def test_malformed_profile_names_the_field(path: tuple[str, ...], value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SubjectProfile.from_dict(_mutated(path, value))


def test_bad_profile_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"description": "x", ')
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        SubjectProfile.from_json(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(_mutated(("fatigue_per_rep",), -1)))
    with pytest.raises(ValueError, match="wrong.json: fatigue_per_rep: must be >= 0"):
        SubjectProfile.from_json(wrong)


def test_a_profile_missing_a_pattern_is_refused_when_simulated() -> None:
    data = PROFILE.to_dict()
    del data["joints"]["hip"]
    partial = SubjectProfile.from_dict(data)
    with pytest.raises(ValueError, match="has no hip flexion/extension"):
        simulate_set(partial, SetProtocol(joint="hip", side="left"))


def test_default_profile_covers_every_canonical_pattern_with_a_default_range() -> None:
    for joint, patterns in JOINT_PATTERNS.items():
        for pattern in patterns:
            assert (joint, pattern) in DEFAULT_ROM_DEG
            for side in ("left", "right"):
                for direction in PATTERN_DIRECTIONS[pattern]:
                    assert PROFILE.group(joint, pattern, side, direction).peak_torque_nm > 0
            sim = simulate_set(PROFILE, SetProtocol(joint=joint, pattern=pattern, side="right", repetitions=1), seed=0)
            assert len(sim.truth.reps) == 2


@pytest.mark.parametrize(
    ("joint", "pattern", "numerator", "denominator", "ratio"),
    [
        ("ankle", "plantarflexion/dorsiflexion", "dorsiflexion", "plantarflexion", 0.36),
        ("ankle", "inversion/eversion", "eversion", "inversion", 0.89),
        ("shoulder", "external/internal rotation", "external rotation", "internal rotation", 0.70),
    ],
)
def test_default_ratios_follow_domain_md(joint: str, pattern: str, numerator: str, denominator: str, ratio: float) -> None:
    for side in ("left", "right"):
        num = PROFILE.group(joint, pattern, side, numerator).peak_torque_nm
        den = PROFILE.group(joint, pattern, side, denominator).peak_torque_nm
        assert num / den == pytest.approx(ratio, abs=0.01)


def test_default_subject_has_weak_left_hamstrings_as_documented() -> None:
    assert PROFILE.body_mass_kg == 75.0
    assert "LEFT" in PROFILE.description and "hamstrings" in PROFILE.description
    steady = {"noise": False, "fatigue": False, "variability": False}
    hq = {side: set_peak(side, "flexion", 60.0, **steady) / set_peak(side, "extension", 60.0, **steady) for side in ("left", "right")}
    assert hq["left"] == pytest.approx(0.456, abs=0.005)
    assert hq["right"] == pytest.approx(0.600, abs=0.005)
    # a realistic default simulation (noise, variability, fatigue) shows the same picture
    flex = {side: set_peak(side, "flexion", 60.0) for side in ("left", "right")}
    ext = {side: set_peak(side, "extension", 60.0) for side in ("left", "right")}
    assert 0.42 < flex["left"] / ext["left"] < 0.50
    assert 0.56 < flex["right"] / ext["right"] < 0.64
    flexion_deficit = 100 * (flex["right"] - flex["left"]) / flex["right"]
    extension_deficit = 100 * abs(ext["right"] - ext["left"]) / max(ext.values())
    assert 20.0 < flexion_deficit < 30.0
    assert extension_deficit < 5.0


def test_right_knee_hq_rises_with_velocity_like_daneshjoo_2012() -> None:
    steady = {"noise": False, "fatigue": False, "variability": False}
    hq = [set_peak("right", "flexion", v, **steady) / set_peak("right", "extension", v, **steady) for v in (60.0, 180.0, 300.0)]
    assert hq[0] < hq[1] < hq[2]
    assert hq == pytest.approx([0.61, 0.72, 0.78], abs=0.03)


def test_bundled_profiles_load_by_name_and_files_by_path(tmp_path: Path) -> None:
    from simulators.profile import bundled_profile_names, load_profile
    from simulators.urlhandler.protocol_sim import parse_sim_url

    assert {"default", "end_range_deficit"} <= set(bundled_profile_names())
    assert load_profile("default") == default_profile()
    assert load_profile("end_range_deficit") != default_profile()
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(default_profile().to_dict()))
    assert load_profile(str(path)) == default_profile()
    with pytest.raises(ValueError, match="no bundled profile 'nobody' .*default, end_range_deficit"):
        load_profile("nobody")
    with pytest.raises(ValueError):
        load_profile(str(tmp_path / "absent.json"))
    assert parse_sim_url("sim://?profile=end_range_deficit") is not None
