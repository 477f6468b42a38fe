"""The set plan: one frozen value every driver accepts, one mode table, the usual ranges."""

from __future__ import annotations

import pytest

from daq.plan import SetPlan
from firmware_protocols import Configure, Mode
from firmware_protocols.vocabulary import DEFAULT_ROM_DEG, MODE_CODES, MODES


def test_a_driving_plan_is_the_whole_set_in_configure() -> None:
    plan = SetPlan.for_set("knee", "con/ecc", group="extension", velocity_dps=60, velocity_minus_dps=180, repetitions=5)
    assert plan.configure_message() == Configure(1000, 0, Mode.CON_ECC, -1, 60, 180, 0, 90, 5)
    assert plan.movements == 10 and plan.slower_velocity_dps == 60
    assert plan.sampling_only().configure_message() == Configure(1000)
    flexion = SetPlan.for_set("knee", "ecc/con", group="flexion", repetitions=3)
    assert flexion.configure_message().acting_direction == 1


def test_a_hold_is_a_passive_plan_with_equal_limits() -> None:
    assert SetPlan.hold(50.0, sample_rate_hz=500).configure_message() == Configure(500, 0, Mode.PASSIVE, 0, 0, 0, 50, 50, 0)


def test_defaults_come_from_the_shared_vocabulary() -> None:
    shoulder = SetPlan.for_set("shoulder", "con/con")
    assert shoulder.pattern == "external/internal rotation"
    assert (shoulder.rom_min_deg, shoulder.rom_max_deg) == DEFAULT_ROM_DEG[("shoulder", "external/internal rotation")]
    assert set(MODES) <= set(MODE_CODES)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sample_rate_hz": 0}, "sample_rate_hz"),
        ({"mode": "sideways"}, "mode must be one of"),
        ({"drive": True}, "needs a mode"),
        ({"mode": "con/ecc", "pattern": "flexion/extension"}, "acting group"),
        ({"rom_min_deg": 90.0, "rom_max_deg": 0.0}, "exceeds"),
        ({"velocity_plus_dps": float("nan")}, "finite"),
        ({"repetitions": -1}, "negative"),
    ],
)
def test_impossible_plans_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SetPlan(**kwargs)
