"""The ASCII driver against a scripted board on a real pseudo-terminal, and over loop://."""

from __future__ import annotations

import time

import numpy as np

from daq.devices import open_driver
from daq.plan import SetPlan
from daq.stream import Gap, SampleBlock
from firmware_protocols import encode_sample


def collect(sub, n_samples: int, timeout_s: float = 2.0) -> list:
    items: list = []
    deadline = time.monotonic() + timeout_s
    while sum(len(i) for i in items if isinstance(i, SampleBlock)) < n_samples:
        assert time.monotonic() < deadline, f"timed out; got {items!r}"
        item = sub.get(timeout=0.05)
        if item is not None:
            items.append(item)
    return items


def lines(counters, *, with_counter: bool = True) -> bytes:
    """Sample lines with torque = 10*c, velocity = -c, position = c + 1000."""
    return b"".join(encode_sample(10 * c, -c, c + 1000, c if with_counter else None) for c in counters)


def test_counter_lines_are_calibrated_in_protocol_order_and_gaps_counted_exactly(make_device, profile):
    dev = make_device(protocol="ascii")
    with open_driver(dev.url, protocol="ascii", calibration=profile, sample_rate_hz=500) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.write(lines(range(100, 110)) + lines(range(114, 120)))  # 110..113 lost
        items = collect(sub, 16)
        stats = drv.stats()
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    gap = next(g for g in items if isinstance(g, Gap))
    assert (gap.after_index, gap.missing, gap.derived_from_time, gap.reason) == (9, 4, False, "sequence jump")
    assert blocks[-1].index.tolist() == list(range(14, 20))
    np.testing.assert_array_equal(blocks[0].torque_nm, 0.5 * (10 * np.arange(100, 110)) + 1.0)
    np.testing.assert_array_equal(blocks[0].position_deg, np.arange(100, 110) + 1000.0)
    np.testing.assert_array_equal(blocks[0].velocity_dps, 2.0 * -np.arange(100, 110) - 3.0)
    assert blocks[0].device_time_us.tolist() == [2000 * k for k in range(10)]
    assert (stats.lost_samples, stats.loss_detection) == (4, "line counter")


def test_lines_without_counter_cannot_show_loss_and_say_so(make_device, profile):
    dev = make_device(protocol="ascii")
    with open_driver(dev.url, protocol="ascii", calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.write(lines(range(5), with_counter=False) + b"not,a,sample,line,at,all\n" + lines(range(5, 8), with_counter=False))
        items = collect(sub, 8)
        stats = drv.stats()
    assert not any(isinstance(i, Gap) for i in items)
    assert (stats.samples, stats.malformed, stats.loss_detection) == (8, 1, "none")


def test_commands_are_sent_only_when_enabled(make_device, profile):
    talking = make_device(protocol="ascii")
    with open_driver(talking.url, protocol="ascii", calibration=profile) as drv:
        drv.configure(SetPlan(200))
        drv.start()
        drv.stop()
    # stop before start: a board streaming from power-up is quieted and drained first
    assert talking.wait_for(tuple, 4) == [("rate", 200), ("stop", None), ("start", None), ("stop", None)]
    mute = make_device(protocol="ascii")
    with open_driver(mute.url, protocol="ascii", calibration=profile, send_commands=False) as drv:
        drv.configure(SetPlan(200))
        drv.start()
        drv.stop()
        time.sleep(0.1)
    assert mute.received == []


def test_lines_before_start_are_ignored_and_counted(make_device, profile):
    dev = make_device(protocol="ascii")
    with open_driver(dev.url, protocol="ascii", calibration=profile, send_commands=False) as drv:
        sub = drv.subscribe()
        dev.write(lines(range(3)))
        deadline = time.monotonic() + 2
        while drv.stats().frames_ignored < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        drv.start()
        dev.write(lines(range(3, 6)))
        items = collect(sub, 3)
        assert drv.stats().frames_ignored == 3
    assert items[0].index.tolist() == [0, 1, 2]


def test_loop_url_carries_bytes_through_the_reader(profile):
    # loop:// returns what the driver writes: its own command lines come back as bad sample lines.
    with open_driver("loop://", protocol="ascii", calibration=profile) as drv:
        drv.configure(SetPlan(1000))
        drv.start()
        deadline = time.monotonic() + 2
        while drv.stats().malformed < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = drv.stats()
    assert stats.bytes_received == len(b"rate 1000\nstop\nstart\n")  # stop first: the board is drained before start
    assert (stats.malformed, stats.samples) == (3, 0)


def test_a_board_streaming_from_power_up_is_recorded_from_its_start_only(tmp_path):
    # The simulated board streams from power-up and restarts its counter on `start`: samples it
    # sent before handling `start` must not be recorded (no duplicates, no invented gap).
    from daq.calibration import load_profile
    from simulators import register_url_handler
    from simulators.urlhandler import find_session

    register_url_handler()
    sim = load_profile("simulator")
    for seed in range(12):
        url = f"sim://?protocol=ascii&seed={seed}&speed=5"
        with open_driver(url, protocol="ascii", calibration=sim) as drv:
            time.sleep(0.02 * (seed % 4))  # the board has been streaming a while
            sub = drv.subscribe()
            drv.start()
            items = collect(sub, 40)
            emitted = find_session(url).emitted_log()
        assert not [i for i in items if isinstance(i, Gap)], f"seed {seed}: {items[:3]}"
        blocks = [i for i in items if isinstance(i, SampleBlock)]
        torque = np.concatenate([b.torque_nm for b in blocks])[:40]
        index = np.concatenate([b.index for b in blocks])[:40]
        assert index.tolist() == list(range(40))
        run = emitted.run(len(emitted.sample_rates_hz) - 1)  # the run the last `start` began
        np.testing.assert_array_equal(torque, sim.torque.apply(run["torque"][:40]), err_msg=f"seed {seed}")


def test_a_board_streaming_from_power_up_through_a_pty_is_recorded_from_its_start_only(tmp_path):
    from daq.calibration import load_profile
    from simulators.session import SimSession, SimSettings
    from simulators.transports import PtyEndpoint

    sim = load_profile("simulator")
    for attempt in range(6):
        session = SimSession(SimSettings(protocol="ascii", seed=attempt, speed=5.0),
                             PtyEndpoint(link_path=str(tmp_path / f"dev{attempt}")))
        session.endpoint.link_up()
        session.start()
        try:
            time.sleep(0.05)  # the board streams from power-up into the pty's buffer
            with open_driver(session.url, protocol="ascii", calibration=sim) as drv:
                sub = drv.subscribe()
                drv.start()
                items = collect(sub, 40)
        finally:
            session.stop()
        emitted = session.emitted_log()
        assert not [i for i in items if isinstance(i, Gap)], f"attempt {attempt}: {items[:3]}"
        blocks = [i for i in items if isinstance(i, SampleBlock)]
        assert np.concatenate([b.index for b in blocks])[:40].tolist() == list(range(40))
        run = emitted.run(len(emitted.sample_rates_hz) - 1)
        np.testing.assert_array_equal(np.concatenate([b.torque_nm for b in blocks])[:40],
                                      sim.torque.apply(run["torque"][:40]), err_msg=f"attempt {attempt}")
