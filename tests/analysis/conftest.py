"""Fixtures of the analysis tests: a small analytic generator of isokinetic sets, and the
collector of the validation grid's worst errors.

Velocity: trapezoids (ramps at ``accel_dps2``) with an optional overshoot bump at the start
of the plateau; torque: each acting group's ``peak * sin`` over the range of motion, plus a
spike during the overshoot (the impact artifact), the limb's gravity torque and noise.
The truth is exact: peak torque at the middle of the range, work = peak * range(rad) * 2 / pi.

The ``worst`` fixture (session-wide) keeps, for each agreement criterion of
``test_validation_grid.py``, the largest error seen and the case that produced it; the
table is printed in the terminal summary and written to ``validation_worst.json`` in
pytest's base temporary directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

_WORST = pytest.StashKey["WorstCases"]()


class WorstCases:
    """Largest absolute error per criterion, with its signed value, the case and how many checks ran."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, str, int]] = {}

    def record(self, criterion: str, error: float, case: str) -> None:
        value, where, count = self.rows.get(criterion, (0.0, "", 0))
        if count == 0 or abs(error) > abs(value):
            value, where = float(error), case
        self.rows[criterion] = (value, where, count + 1)

    def lines(self) -> list[str]:
        return [f"{criterion}: worst {value:+.3f} over {count} checks ({where})"
                for criterion, (value, where, count) in sorted(self.rows.items())]


@pytest.fixture(scope="session")
def worst(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> WorstCases:
    """The session's :class:`WorstCases`; written to ``validation_worst.json`` at the end."""
    collector = request.config.stash.setdefault(_WORST, WorstCases())
    yield collector
    path = tmp_path_factory.getbasetemp() / "validation_worst.json"
    rows = {k: {"worst": v, "case": c, "checks": n} for k, (v, c, n) in collector.rows.items()}
    path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    collector = config.stash.get(_WORST, None)
    if collector is not None and collector.rows:
        terminalreporter.section("validation against the simulator's ground truth: worst cases")
        for line in collector.lines():
            terminalreporter.write_line(line)


@dataclass
class Synthetic:
    time_s: np.ndarray
    torque_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray
    #: (group sign, movement sign) per repetition, in order
    reps: list[tuple[int, int]] = field(default_factory=list)


def synth_set(
    *,
    velocity_dps: float = 60.0,
    sample_rate_hz: float = 1000.0,
    repetitions: int = 3,
    rom_deg: tuple[float, float] = (0.0, 90.0),
    peak_plus_nm: float = 150.0,
    peak_minus_nm: float = 250.0,
    mode: str = "con/con",
    group: int = 1,
    noise_nm: float = 0.0,
    gravity_torque_nm: float = 0.0,
    overshoot: float = 0.0,
    impact_nm: float = 0.0,
    pause_s: float = 0.2,
    rest_s: float = 1.0,
    accel_dps2: float = 3000.0,
    partial_after: int | None = None,
    seed: int = 0,
) -> Synthetic:
    """Build one set; ``repetitions`` movements each way (con/con, ecc/ecc) or of ``group`` (con/ecc, ecc/con).

    ``peak_plus_nm`` / ``peak_minus_nm``: peak torque of the + and - direction's muscle groups.
    ``partial_after``: after that many movements insert a partial movement (a third of the
    range, at a quarter of the velocity) and its return, which are not repetitions.
    """
    rng = np.random.default_rng(seed)
    lo, hi = rom_deg
    span = hi - lo
    segments: list[np.ndarray] = [np.zeros(int(rest_s * sample_rate_hz))]
    reps: list[tuple[int, int]] = []
    plan: list[tuple[int, int]] = []  # (movement sign, group sign)
    for k in range(2 * repetitions):
        move = 1 if k % 2 == 0 else -1
        if mode == "con/con":
            plan.append((move, move))
        elif mode == "ecc/ecc":
            plan.append((move, -move))
        else:
            plan.append((move, group))
    if mode in ("con/ecc", "ecc/con"):
        first = group if mode == "con/ecc" else -group
        plan = [(first * (1 if k % 2 == 0 else -1), group) for k in range(2 * repetitions)]
    position_start = lo if plan[0][0] > 0 else hi
    tr = velocity_dps / accel_dps2
    groups: list[np.ndarray] = [np.zeros(len(segments[0]))]
    for k, (move, g) in enumerate(plan):
        n_ramp = max(2, int(round(tr * sample_rate_hz)))
        n_flat = int(round((span / velocity_dps - tr) * sample_rate_hz))
        ramp = np.linspace(0.0, velocity_dps, n_ramp, endpoint=False)
        flat = np.full(n_flat, velocity_dps)
        if overshoot:
            tt = np.arange(n_flat) / sample_rate_hz
            flat = flat + overshoot * velocity_dps * np.exp(-(((tt - 0.03) / 0.015) ** 2))
        v = np.concatenate([ramp, flat, ramp[::-1]])
        gap = np.zeros(int(pause_s * sample_rate_hz))
        segments += [move * v, gap]
        groups += [np.full(len(v), g), np.zeros(len(gap))]
        reps.append((g, move))
        if partial_after is not None and k + 1 == partial_after:
            slow = velocity_dps / 4
            n = int(round(span / 3 / slow * sample_rate_hz))
            seg = np.full(n, slow)
            segments += [-move * seg, gap, move * seg, gap]
            groups += [np.zeros(n), np.zeros(len(gap)), np.zeros(n), np.zeros(len(gap))]
    segments.append(np.zeros(int(rest_s * sample_rate_hz)))
    groups.append(np.zeros(len(segments[-1])))
    velocity = np.concatenate(segments)
    group_of = np.concatenate(groups)
    position = position_start + np.concatenate([[0.0], np.cumsum(velocity[:-1])]) / sample_rate_hz
    time_s = np.arange(len(velocity)) / sample_rate_hz
    shape = np.sin(np.pi * np.clip((position - lo) / span, 0.0, 1.0))
    peak = np.where(group_of > 0, peak_plus_nm, np.where(group_of < 0, peak_minus_nm, 0.0))
    torque = group_of * peak * shape
    if impact_nm:
        excess = np.clip(np.abs(velocity) - velocity_dps, 0.0, None) / max(overshoot * velocity_dps, 1e-9)
        torque += group_of * impact_nm * excess
    torque += gravity_torque_nm * np.cos(np.radians(position))
    if noise_nm:
        torque += noise_nm * rng.standard_normal(len(torque))
        velocity = velocity + 0.01 * velocity_dps * rng.standard_normal(len(velocity))
    return Synthetic(time_s, torque, position, velocity, reps)


@pytest.fixture
def synth():
    """The generator :func:`synth_set`, for tests to call with their own parameters."""
    return synth_set
