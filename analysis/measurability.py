"""Whether a repetition's load range can carry a windowed peak, and why not.

The windowed figures are reported only where the isokinetic load range is trustworthy.
A servo that rings (:mod:`analysis.settling`) has settled only some tens of ms after
reaching the set velocity; at 300-500 deg/s with slow ramps little or nothing is left of
the range by then, and the muscle's torque has often peaked before (during the ramp and the
overshoot) and is falling throughout what is left. The largest torque of such a window is
the torque where the window starts, not a peak: it moves with the window's start, whose
place is known only to the settling time's uncertainty. A repetition's windowed figures are
therefore left null, with the reason, when (defaults in :class:`analysis.options.AnalysisOptions`):

- the settled load range lasts less than ``min_load_range_s`` (40 ms: two periods of the
  20 Hz torque filter's cut-off, and 15-20 deg at 400-500 deg/s; the windows the validation
  grid saw shorter than that, 10-25 ms at 500 deg/s, read their peaks 20-57 % off), or
- starting the load range later by the uncertainty of the servo's settling (twice its
  jackknife SD over the set's movements, at least one sample) lowers the windowed peak by
  more than ``start_sensitivity_percent`` (1 %, half the peak's 2 % criterion): the torque
  is still falling steeply where the servo settles, so the peak depends on where exactly
  the servo settled. (Starting it earlier would take in the oscillation's inertial torque,
  which the settling rule is there to leave out.)

Load ranges found by the speed's tolerance and the braking rule alone (servos that do not
ring: the bundled simulator's, the HUMAC and Con-Trex files, whose speed approaches the set
velocity without oscillating) have a start known to a sample, and are not judged here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["unmeasurable_reasons"]

#: The torque's trend where the load range starts is its least-squares slope over this long (s), or over twice the
#: start's uncertainty when longer: a ripple's period (3-30 Hz) or more, so the ripple's inertial torque averages out.
_TREND_S = 0.03


def unmeasurable_reasons(
    windows: Sequence[tuple[int, int] | None],
    uncertainties: Sequence[int],
    movement_starts: Sequence[int],
    group_signs: Sequence[int],
    filtered: Callable[[list[tuple[int, int]]], list[np.ndarray]],
    fs: float,
    *,
    min_load_range_s: float,
    start_sensitivity_percent: float,
) -> list[str | None]:
    """Why each movement's load range cannot carry a windowed peak, or ``None`` where it can.

    Parameters
    ----------
    windows
        Each movement's load range (sample offsets from the movement's start), or ``None``.
    uncertainties
        How many samples each load range's start is uncertain by (0: a start found by the
        speed alone, not judged).
    movement_starts
        Each movement's first sample in the recording.
    group_signs
        Each movement's muscle group sign (+1/-1): the group torque is ``sign * torque``.
    filtered
        Returns the torque low-passed over each of the given ``(start, stop)`` recording
        sample ranges (one per movement), as the load ranges' torque is.
    fs
        Sample rate, Hz.
    min_load_range_s, start_sensitivity_percent
        The thresholds (see the module's docstring).
    """
    reasons: list[str | None] = [None] * len(windows)
    judged = [i for i, (w, u) in enumerate(zip(windows, uncertainties)) if w is not None and u > 0]
    for i in judged:
        a, b = windows[i] or (0, 0)
        if (b - a) / fs < min_load_range_s:
            reasons[i] = (f"the servo settled {1000.0 * (b - a) / fs:.0f} ms before its deceleration "
                          f"(a load range under {1000.0 * min_load_range_s:.0f} ms): no isokinetic window")
    judged = [i for i in judged if reasons[i] is None]
    if not judged:
        return reasons
    bounds = [(movement_starts[i] + a, movement_starts[i] + b) for i, (a, b) in
              ((i, windows[i] or (0, 0)) for i in range(len(windows)))]
    torques = filtered(bounds)
    for i in judged:
        a, b = windows[i] or (0, 0)
        torque = group_signs[i] * torques[i]
        n = min(b - a, max(2 * uncertainties[i], int(round(_TREND_S * fs)), 3))
        slope = float(np.polyfit(np.arange(n), torque[:n], 1)[0])  # N.m per sample over the load range's first part
        change = 100.0 * -slope * uncertainties[i] / float(np.max(torque))
        if change > start_sensitivity_percent:
            reasons[i] = (f"the torque is still falling where the servo settles ({-slope * fs / 1000.0:.2f} N.m/ms): "
                          f"the load range's start, uncertain by {1000.0 * uncertainties[i] / fs:.0f} ms, moves the peak "
                          f"by {change:.1f} % (over {start_sensitivity_percent:g} %); the muscle's peak came before the "
                          "servo settled")
    return reasons
