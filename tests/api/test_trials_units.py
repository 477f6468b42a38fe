"""The service's simulator URLs: the trial's joint and side as options of sim://."""

from __future__ import annotations

import pytest

from api.acquisition.simulator import sim_url


def test_sim_urls_carry_the_trials_joint_and_side() -> None:
    assert sim_url("simulator", side="right", joint="knee") == "sim://?joint=knee&side=right&speed=1"
    assert sim_url("sim://?speed=20&side=left", side="right", profile=None) == "sim://?side=right&speed=20"
    with pytest.raises(ValueError, match="unknown option"):
        sim_url("sim://?colour=red")
