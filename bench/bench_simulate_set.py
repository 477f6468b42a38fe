"""How long the physiological model takes to generate an hour of 1 kHz data.

Run: ``python bench/bench_simulate_set.py``. Prints figures; asserts nothing (speed
depends on the machine). The target is "an hour of repeated sets in seconds".
"""

from __future__ import annotations

import time

from simulators.model import SetProtocol, default_profile, simulate_set


def main() -> None:
    profile = default_profile()
    for velocity_dps, reps in ((60.0, 5), (180.0, 25), (300.0, 5)):
        proto = SetProtocol(joint="knee", side="left", velocity_dps=velocity_dps, repetitions=reps)
        samples = 0
        sets = 0
        start = time.perf_counter()
        while samples < 3600 * 1000:
            sim = simulate_set(profile, proto, sample_rate_hz=1000.0, seed=sets)
            samples += sim.time_s.size
            sets += 1
        elapsed = time.perf_counter() - start
        print(
            f"knee con/con {velocity_dps:5.0f} deg/s x{reps:<2d}: {sets:4d} sets, {samples / 1e6:.2f} M samples "
            f"(1 h at 1 kHz) in {elapsed:.2f} s = {samples / elapsed / 1e6:.1f} M samples/s"
        )


if __name__ == "__main__":
    main()
