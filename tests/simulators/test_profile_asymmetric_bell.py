"""The torque-angle bell may be narrower on one side of its optimum (profiles' optional widths)."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.physiology import torque_angle_factor
from simulators.profile import SubjectProfile, default_profile


def test_a_narrower_side_lowers_only_that_side_of_the_bell():
    angles = np.array([20.0, 65.0, 80.0])
    symmetric = torque_angle_factor(angles, optimal_angle_deg=65.0, width_deg=40.0)
    narrow_below = torque_angle_factor(angles, optimal_angle_deg=65.0, width_deg=40.0, width_below_deg=28.0)
    assert narrow_below[1] == symmetric[1] == 1.0  # the peak is intact
    assert narrow_below[2] == symmetric[2]  # above the optimum: unchanged
    assert narrow_below[0] == pytest.approx(np.exp(-0.5 * (45 / 28) ** 2))
    assert narrow_below[0] < symmetric[0]


def test_optional_widths_round_trip_and_are_checked():
    data = default_profile().to_dict()
    assert "angle_width_below_deg" not in data["joints"]["knee"]["flexion/extension"]["groups"]["extension"]
    extension = data["joints"]["knee"]["flexion/extension"]["groups"]["extension"]
    extension["angle_width_below_deg"] = {"left": 28.0, "right": 40.0}
    profile = SubjectProfile.from_dict(data)
    assert profile.group("knee", "flexion/extension", "left", "extension").angle_width_below_deg == 28.0
    assert profile.group("knee", "flexion/extension", "left", "extension").angle_width_above_deg is None
    assert SubjectProfile.from_dict(profile.to_dict()) == profile
    extension["angle_width_below_deg"] = 0.0
    with pytest.raises(ValueError, match="angle_width_below_deg: must be > 0"):
        SubjectProfile.from_dict(data)
    extension["angle_width_below"] = 30.0
    with pytest.raises(ValueError, match="unknown field 'angle_width_below'"):
        SubjectProfile.from_dict(data)
