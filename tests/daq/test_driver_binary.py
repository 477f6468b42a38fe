"""The binary driver against a scripted device on a real pseudo-terminal (fixtures in conftest.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from daq.binary_driver import BinaryDriver
from daq.devices import open_driver
from daq.errors import DeviceRefused, DeviceTimeout, DeviceUnavailable
from daq.plan import SetPlan
from daq.stream import DeviceEvent, Gap, Overflow, SampleBlock, StreamEnded
from firmware_protocols import Ack, Configure, ErrorCode, Event, EventCode, Marker, Mode, Ping, Start, Stop


def collect(sub, until, timeout_s: float = 2.0) -> list:
    """Items from a subscription until ``until(items)`` holds (or fail after the timeout)."""
    items: list = []
    deadline = time.monotonic() + timeout_s
    while not until(items):
        assert time.monotonic() < deadline, f"timed out; got {items!r}"
        item = sub.get(timeout=0.05)
        if item is not None:
            items.append(item)
    return items


def samples_in(items: list) -> int:
    return sum(len(i) for i in items if isinstance(i, SampleBlock))


def test_handshake_reports_the_devices_identity(make_device, profile):
    dev = make_device(serial_number="BOARD-42")
    with open_driver(dev.url, calibration=profile) as drv:
        assert drv.info is not None
        assert (drv.info.model, drv.info.serial_number, drv.info.firmware_version) == ("scripted", "BOARD-42", "0.0.1")
        assert drv.info.sample_rates_hz == (100, 1000, 2000)
        assert drv.info.drives_machine and not drv.info.marker_button


def test_configure_carries_the_fields_and_a_nak_becomes_device_refused(make_device, profile):
    dev = make_device(refuse={Configure.TYPE: ErrorCode.UNSUPPORTED_RATE})
    with open_driver(dev.url, calibration=profile) as drv:
        plan = SetPlan.for_set(
            "knee", "con/ecc", group="extension", velocity_dps=60, velocity_minus_dps=120, rom_deg=(5.0, 95.0),
            repetitions=3, sample_rate_hz=5000, samples_per_frame=50,
        )
        with pytest.raises(DeviceRefused, match="UNSUPPORTED_RATE") as info:
            drv.configure(plan)
        assert info.value.code == ErrorCode.UNSUPPORTED_RATE
    assert dev.commands(Configure) == [Configure(5000, 50, Mode.CON_ECC, -1, 60.0, 120.0, 5.0, 95.0, 3)]


def test_a_board_that_only_samples_refuses_to_drive_a_set(make_device, profile):
    dev = make_device(drives_machine=False)
    with open_driver(dev.url, calibration=profile) as drv:
        plan = SetPlan.for_set("knee", "con/con", repetitions=3)
        with pytest.raises(DeviceRefused, match="only samples: it cannot drive a con/con set") as info:
            drv.configure(plan)
        assert info.value.code == ErrorCode.NOT_SUPPORTED
        drv.configure(plan.sampling_only())
    assert dev.commands(Configure) == [Configure(1000)]


def test_a_device_that_never_answers_is_a_timeout_and_leaves_no_thread(make_device, profile):
    dev = make_device(silent=True)
    before = threading.active_count()
    with pytest.raises(DeviceTimeout, match=f"no answer to HELLO from {dev.url}"):
        open_driver(dev.url, calibration=profile, command_timeout_s=0.2)
    assert threading.active_count() == before


def test_missing_port_is_device_unavailable_naming_it(profile, tmp_path):
    with pytest.raises(DeviceUnavailable, match=f"cannot open {tmp_path}/nothing: No such file or directory"):
        open_driver(str(tmp_path / "nothing"), calibration=profile)


def test_a_second_driver_on_the_same_port_is_refused(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile):
        with pytest.raises(DeviceUnavailable, match="in use"):
            open_driver(dev.url, calibration=profile)


def test_started_stream_is_calibrated_indexed_and_timed(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile, sample_rate_hz=1000) as drv:
        sub = drv.subscribe()
        drv.start()
        assert dev.wait_for(Configure) == [Configure(1000)]
        dev.data(0, 10)
        dev.data(10, 10, torque0=100)
        drv.stop()  # the ACK follows the DATA: both blocks are out when stop() returns
        blocks = [i for i in collect(sub, lambda items: len(items) == 2)]
        assert not drv.streaming
    b0, b1 = blocks
    assert b1.index.tolist() == list(range(10, 20))
    assert b1.torque_counts.tolist() == list(range(100, 110))
    np.testing.assert_array_equal(b1.torque_nm, 0.5 * np.arange(100, 110) + 1.0)
    np.testing.assert_array_equal(b1.position_deg, 2.0 * np.arange(10))
    np.testing.assert_array_equal(b1.velocity_dps, -2.0 * np.arange(10) - 3.0)
    assert b1.status.tolist() == [0, 1] * 5
    assert b0.device_time_us.tolist() == [5_000_000 + 1000 * k for k in range(10)]
    assert np.all(np.diff(np.concatenate([b0.host_time_s, b1.host_time_s])) > 0)
    assert drv.stats().samples == 20 and drv.stats().gaps == ()


def test_a_dropped_data_frame_is_a_gap_with_its_exact_count_and_place(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        dev.encoder.encode(dev.data_frame(10, 7))  # encoded (sequence used) but never sent
        dev.data(17, 10)
        items = collect(sub, lambda items: samples_in(items) == 20)
        stats = drv.stats()
    gap = items[1]
    assert isinstance(gap, Gap)
    assert (gap.after_index, gap.missing, gap.derived_from_time, gap.reason) == (9, 7, False, "sequence jump")
    assert items[2].index[0] == 17
    assert stats.lost_samples == 7 and stats.frames_lost == 1 and stats.crc_errors == 0


def test_a_corrupted_frame_is_counted_and_its_samples_reported_lost(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        damaged = bytearray(dev.encoder.encode(dev.data_frame(10, 5)))
        damaged[30] ^= 0x40
        dev.write(bytes(damaged))
        dev.data(15, 10)
        items = collect(sub, lambda items: samples_in(items) == 20)
        stats = drv.stats()
    assert [(g.after_index, g.missing) for g in items if isinstance(g, Gap)] == [(9, 5)]
    assert stats.crc_errors == 1
    assert stats.bytes_discarded == len(damaged)
    assert stats.lost_samples == 5


def test_a_counter_that_jumps_back_without_start_is_a_restart_counted_from_device_time(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)  # device time 5.000 .. 5.009 s
        dev.data(0, 10, timestamp_us=5_030_000)  # the board reset its counter; 20 samples were never taken
        items = collect(sub, lambda items: samples_in(items) == 20)
    gap = items[1]
    assert (gap.after_index, gap.missing, gap.derived_from_time, gap.reason) == (9, 20, True, "index restart")
    assert items[2].index.tolist() == list(range(30, 40))


def test_a_stream_left_running_by_an_earlier_session_is_stopped_at_open(make_device, profile):
    dev = make_device()
    dev.streaming = True  # it would refuse CONFIGURE with NOT_ALLOWED_NOW
    with open_driver(dev.url, calibration=profile) as drv:
        drv.start()
        assert drv.streaming
    assert [type(m).__name__ for m in dev.received] == ["Hello", "Stop", "Configure", "Start", "Stop"]


def test_data_left_over_from_an_earlier_session_is_ignored_and_counted(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        dev.data(500, 10)  # the device was streaming before this driver started it
        dev.wait_for(object, 1)
        time.sleep(0.1)
        drv.start()
        dev.data(0, 10)
        items = collect(sub, lambda items: samples_in(items) == 10)
        assert drv.stats().frames_ignored == 1
    assert items[0].index[0] == 0 and len(items) == 1


def test_events_land_on_the_sample_index_and_set_complete_ends_streaming(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        dev.send(Event(5_004_000, 4, EventCode.LIMIT_REACHED, -1))
        dev.send(Event(5_009_000, 9, EventCode.SET_COMPLETE, 5))
        items = collect(sub, lambda items: len(items) == 3)
        assert not drv.streaming
    assert items[1:] == [
        DeviceEvent(4, 5_004_000, EventCode.LIMIT_REACHED, "LIMIT_REACHED", -1),
        DeviceEvent(9, 5_009_000, EventCode.SET_COMPLETE, "SET_COMPLETE", 5),
    ]


def test_ping_returns_the_device_clock_and_marker_is_acked(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        assert isinstance(drv, BinaryDriver)
        result = drv.ping()
        drv.marker(7)
    assert result.device_time_us == dev.device_time_us
    assert 0 < result.round_trip_s < 1.0
    assert dev.commands(Marker) == [Marker(7)]
    assert len(dev.commands(Ping)) == 1


def test_a_slow_subscriber_loses_counted_samples_and_others_lose_none(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        slow = drv.subscribe(max_items=2)
        fast = drv.subscribe()
        drv.start()
        for k in range(5):
            dev.data(10 * k, 10)
        got = collect(fast, lambda items: samples_in(items) == 50)
        stats = drv.stats()
        first, second, overflow = slow.get(0), slow.get(0), slow.get(0)
    assert samples_in(got) == 50
    assert (first.index[0], second.index[0]) == (0, 10)
    assert overflow == Overflow(first_index=20, samples=30, blocks=3, events=0)
    assert slow.dropped_samples == 30 and stats.overflow_drops == 30


def test_close_is_idempotent_stops_the_device_and_ends_subscriptions(make_device, profile):
    dev = make_device()
    drv = open_driver(dev.url, calibration=profile)
    sub = drv.subscribe()
    drv.start()
    drv.close()
    drv.close()
    assert dev.wait_for(Stop, 2) == [Stop(), Stop()]  # at open, and at close while streaming
    assert sub.get(timeout=1.0) == StreamEnded("closed")
    assert not drv._thread.is_alive()


def test_start_is_refused_with_the_devices_reason(make_device, profile):
    dev = make_device(refuse={Start.TYPE: ErrorCode.HARDWARE_FAULT})
    with open_driver(dev.url, calibration=profile) as drv:
        with pytest.raises(DeviceRefused, match=f"{dev.url} refused START: HARDWARE_FAULT"):
            drv.start()
        assert not drv.streaming


def test_socket_url_works_like_a_serial_port(make_device, profile):
    dev = make_device(tcp=True)
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        items = collect(sub, lambda items: samples_in(items) == 10)
    assert drv.info.serial_number == "TEST-1"
    assert items[0].index.tolist() == list(range(10))


def test_spy_url_hexdumps_the_traffic(make_device, profile, tmp_path):
    dev = make_device()
    log = tmp_path / "spy.txt"
    with open_driver(f"spy://{dev.url}?file={log}", calibration=profile) as drv:
        assert drv.info.serial_number == "TEST-1"
    lines = log.read_text().splitlines()
    assert any(" TX " in line and "A5 5A 01 01" in line for line in lines)  # HELLO went out
    assert any(" RX " in line for line in lines)  # and INFO came back through the spy


def _lose(dev, frame) -> None:
    """The device sends a frame that never arrives: its sequence number is used up."""
    with dev._lock:
        dev.encoder.encode(frame)


def _drain(sub) -> list:
    items = []
    while (item := sub.get(timeout=0.2)) is not None:
        items.append(item)
    return items


def test_data_lost_just_before_stops_ack_is_reported_with_its_frame_count(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        _lose(dev, dev.data_frame(10, 10))
        _lose(dev, dev.data_frame(20, 10))
        time.sleep(0.1)
        drv.stop()
        items = _drain(sub)
        stats = drv.stats()
    gaps = [i for i in items if isinstance(i, Gap)]
    assert len(gaps) == 1, items
    gap = gaps[0]
    assert (gap.after_index, gap.missing, gap.count_known, gap.frames_lost) == (9, 0, False, 2)
    assert gap.reason == "2 frames lost before STOP's ACK; sample count unknown"
    assert stats.frames_lost == 2


def test_a_lost_stop_ack_retried_is_not_a_lost_data_frame(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile, command_timeout_s=0.3) as drv:
        stops = len(dev.commands(Stop))  # the handshake's
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        time.sleep(0.1)
        dev.silent = True

        def lose_first_ack() -> None:
            dev.wait_for(Stop, stops + 1)
            _lose(dev, Ack(Stop.TYPE, 0))  # the ACK to the first STOP never arrives
            dev.silent = False  # the retry is answered

        threading.Thread(target=lose_first_ack, daemon=True).start()
        drv.stop()
        items = _drain(sub)
    assert len(dev.commands(Stop)) == stops + 2
    assert not [i for i in items if isinstance(i, Gap)], items


def test_samples_lost_just_before_set_complete_are_counted_exactly(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        _lose(dev, dev.data_frame(10, 10))
        _lose(dev, dev.data_frame(20, 5))
        dev.send(Event(dev.device_time_us + 24_000, 24, EventCode.SET_COMPLETE, 3))
        items = _drain(sub)
        assert not drv.streaming
    gaps = [i for i in items if isinstance(i, Gap)]
    assert [(g.after_index, g.missing, g.count_known, g.reason) for g in gaps] == [(9, 15, True, "end of set")]
    event = next(i for i in items if isinstance(i, DeviceEvent))
    assert event.index == 24 and items.index(gaps[0]) < items.index(event)
