"""Reconnects on a real pty that is closed and comes back behind the same symlink."""

from __future__ import annotations

import time

import pytest

from daq.devices import open_driver
from daq.errors import DeviceUnavailable
from daq.stream import Disconnected, Gap, Reconnected, SampleBlock, StreamEnded
from firmware_protocols import Configure, Hello, Start, encode_sample


def collect_until(sub, kind: type, timeout_s: float = 5.0) -> list:
    items: list = []
    deadline = time.monotonic() + timeout_s
    while not any(isinstance(i, kind) for i in items):
        assert time.monotonic() < deadline, f"no {kind.__name__}; got {items!r}"
        item = sub.get(timeout=0.05)
        if item is not None:
            items.append(item)
    return items


def kinds(items: list) -> list[str]:
    return [type(i).__name__ for i in items]


def test_a_device_that_kept_streaming_continues_with_the_exact_gap(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        collect_until(sub, SampleBlock)
        dev.hang_up()
        # Still streaming: DATA arrives while the driver resumes, before the NAK of its CONFIGURE;
        # it must be handed out after the Reconnected item.
        dev.before_answer[Configure.TYPE] = [dev.data_frame(30, 10)]
        dev.come_back()
        items = collect_until(sub, SampleBlock)
        stats = drv.stats()
    assert kinds(items) == ["Disconnected", "Reconnected", "Gap", "SampleBlock"]
    disconnected, reconnected, gap, block = items
    assert disconnected.after_index == 9
    assert reconnected.resumed == "streaming"
    assert (gap.after_index, gap.missing, gap.derived_from_time, gap.reason) == (9, 20, False, "disconnect")
    assert block.index[0] == 30 and block.segment == 1
    assert (stats.disconnects, stats.reconnects, stats.lost_samples) == (1, 1, 20)
    assert len(dev.commands(Hello)) == 2 and len(dev.commands(Start)) == 1


def test_an_idle_device_is_restarted_and_the_gap_derived_from_its_clock(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)  # device time 5.000 .. 5.009 s
        collect_until(sub, SampleBlock)
        dev.hang_up()
        dev.streaming = False  # the board went idle while unplugged
        dev.come_back()
        dev.wait_for(Start, 2)
        dev.data(0, 10, timestamp_us=5_050_000)  # its clock kept running: samples 10..49 were never read
        items = collect_until(sub, SampleBlock)
    assert kinds(items) == ["Disconnected", "Reconnected", "Gap", "SampleBlock"]
    assert items[1].resumed == "restarted"
    gap = items[2]
    assert (gap.after_index, gap.missing, gap.derived_from_time, gap.reason) == (9, 40, True, "disconnect")
    assert items[3].index.tolist() == list(range(50, 60))
    assert dev.commands(Configure) == [Configure(1000), Configure(1000)]


def test_another_device_behind_the_same_path_ends_the_stream(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.hang_up()
        dev.serial_number = "SOMEONE-ELSE"
        dev.come_back()
        items = collect_until(sub, StreamEnded)
        assert not drv.streaming
    assert items[-1] == StreamEnded("different device")


def test_a_device_that_never_returns_is_given_up_after_the_timeout(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile, reconnect_timeout_s=0.5) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.hang_up()
        items = collect_until(sub, StreamEnded)
        with pytest.raises(DeviceUnavailable, match="disconnected"):
            drv.ping()
        stats = drv.stats()
    assert isinstance(items[0], Disconnected) and items[-1] == StreamEnded("device lost")
    assert (stats.disconnects, stats.reconnects) == (1, 0)


def test_ascii_board_without_counter_gets_a_gap_estimated_from_the_host_clock(make_device, profile):
    dev = make_device(protocol="ascii")
    with open_driver(dev.url, protocol="ascii", calibration=profile, sample_rate_hz=1000) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.write(b"".join(encode_sample(k, 0, 0) for k in range(10)))
        collect_until(sub, SampleBlock)
        dev.hang_up()
        time.sleep(0.3)
        dev.come_back()
        deadline = time.monotonic() + 5
        while dev.received.count(("start", None)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # the driver says "start" again once it has reopened the port
        dev.write(b"".join(encode_sample(k, 0, 0) for k in range(10)))
        items = collect_until(sub, Gap)
    gap = next(i for i in items if isinstance(i, Gap))
    assert gap.derived_from_time and gap.reason == "disconnect" and gap.after_index == 9
    assert gap.missing >= 250  # at least the 0.3 s the board was away, at 1 kHz
    assert isinstance(items[items.index(gap) - 1], Reconnected)
