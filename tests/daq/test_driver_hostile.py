"""Hostile or broken device input never kills the reader: it is counted, dropped, shown as a gap, and recording goes on.

Also: a repeated frame or line is stored once, and a device found idle after a reconnect
while it was driving a set is not restarted behind the operator's back.
"""

from __future__ import annotations

import struct
import time
from binascii import crc_hqx

import numpy as np

from daq.devices import open_driver
from daq.errors import DaqError
from daq.plan import SetPlan
from daq.recorder import INTERRUPTED, RecordedBlock, Recorder, RecordingSink, StopConditions
from daq.stream import SET_ENDED, STOPPED_ON_RECONNECT, Gap, Reconnected, SampleBlock, StreamEnded
from firmware_protocols import Configure, Data, Start, encode_sample
from firmware_protocols.framing import CRC_INIT, SYNC


def raw_frame(type_code: int, payload: bytes, sequence: int) -> bytes:
    """A frame with a correct CRC around any payload (the encoder would refuse a bad one)."""
    body = SYNC + struct.pack("<BBHI", 1, type_code, len(payload), sequence) + payload
    return body + struct.pack("<H", crc_hqx(body[2:], CRC_INIT))


def drain(sub, until, timeout_s: float = 3.0) -> list:
    items: list = []
    deadline = time.monotonic() + timeout_s
    while not until(items) and time.monotonic() < deadline:
        item = sub.get(timeout=0.05)
        if item is not None:
            items.append(item)
    return items


def indices(items: list) -> list[int]:
    return [int(i) for b in items if isinstance(b, SampleBlock) for i in b.index]


def test_a_data_frame_of_zero_samples_is_malformed_and_the_stream_goes_on(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        sequence = dev.encoder.sequence
        dev.encoder.sequence += 1
        dev.write(raw_frame(Data.TYPE, struct.pack("<QIH", 5_010_000, 10, 0), sequence))
        dev.data(10, 10)
        items = drain(sub, lambda got: len(indices(got)) >= 20)
        stats = drv.stats()
    assert indices(items) == list(range(20)) and not any(isinstance(i, (Gap, StreamEnded)) for i in items)
    assert stats.malformed == 1


def test_counts_outside_the_adc_range_drop_their_frame_as_a_gap(make_device, profile):
    dev = make_device()  # announces 16-bit channels: counts -32768 .. 65535
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        dev.data(10, 10, torque0=70_000)  # CRC fine, content impossible
        dev.data(20, 10)
        items = drain(sub, lambda got: len(indices(got)) >= 20)
        stats = drv.stats()
    gaps = [i for i in items if isinstance(i, Gap)]
    assert indices(items) == list(range(10)) + list(range(20, 30))
    assert [(g.after_index, g.missing, g.reason) for g in gaps] == [(9, 10, "malformed frame dropped")]
    assert stats.malformed == 1 and stats.lost_samples == 10


def test_a_repeated_frame_is_stored_once(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.data(0, 10)
        dev.data(10, 10)
        dev.data(10, 10)  # the same samples again, in a frame of its own
        dev.data(20, 10)
        items = drain(sub, lambda got: len(indices(got)) >= 30)
        stats = drv.stats()
    assert indices(items) == list(range(30)) and not any(isinstance(i, Gap) for i in items)
    assert stats.frames_repeated == 1 and stats.lost_samples == 0


def test_ascii_values_beyond_32_bits_and_repeated_lines(make_device, profile):
    dev = make_device(protocol="ascii")
    with open_driver(dev.url, protocol="ascii", calibration=profile, send_commands=False) as drv:
        sub = drv.subscribe()
        drv.start()
        dev.write(b"".join(encode_sample(k, -k, 2 * k, counter=k) for k in range(3)))
        dev.write(b"3,99999999999999999999999,0,0\n")  # overflows int64: a bad line, not a dead reader
        dev.write(b"4,2147483648,0,0\n")  # one past int32
        dev.write(encode_sample(5, -5, 10, counter=5) * 2)  # the same line twice
        dev.write(encode_sample(6, -6, 12, counter=6))
        items = drain(sub, lambda got: len(indices(got)) >= 5)
        stats = drv.stats()
    gaps = [i for i in items if isinstance(i, Gap)]
    assert indices(items) == [0, 1, 2, 5, 6] and [(g.after_index, g.missing) for g in gaps] == [(2, 2)]
    assert stats.malformed == 2 and stats.frames_repeated == 1
    assert not any(isinstance(i, StreamEnded) for i in items)


class _Count(RecordingSink):
    def __init__(self) -> None:
        self.samples = 0

    def add_samples(self, samples: RecordedBlock) -> None:
        self.samples += len(samples)

    def add_event(self, event: object) -> None:
        return None


def test_a_set_that_ended_while_the_link_was_down_is_not_restarted(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile, reconnect_timeout_s=3.0) as drv:
        sub = drv.subscribe()
        drv.configure(SetPlan.for_set("knee", "con/con", repetitions=3))
        sink = _Count()
        recorder = Recorder(drv, [sink], flush_interval_s=0.05)
        recorder.start(StopConditions(duration_s=10.0))
        dev.data(0, 10)
        drain(sub, lambda got: any(isinstance(i, SampleBlock) for i in got))
        dev.hang_up()
        dev.streaming = False  # the device finished its set meanwhile
        dev.come_back()
        summary = recorder.run()
        items = drain(sub, lambda got: any(isinstance(i, Reconnected) for i in got))
    assert [i.resumed for i in items if isinstance(i, Reconnected)] == [SET_ENDED]
    assert len(dev.commands(Start)) == 1, "a driving set must never be started again by the driver"
    assert len(dev.commands(Configure)) == 2  # the first, and the probe after the reconnect
    assert summary.state == INTERRUPTED and "the link was down when the device's set ended" in summary.stopped_by
    assert summary.samples == sink.samples == 10
    assert np.isfinite(summary.duration_s)


def test_a_stop_asked_while_the_link_is_down_is_sent_on_the_reconnect_and_nothing_resumes(make_device, profile):
    dev = make_device()
    with open_driver(dev.url, calibration=profile, reconnect_timeout_s=3.0) as drv:
        sub = drv.subscribe()
        drv.configure(SetPlan.for_set("knee", "con/con", repetitions=3))
        recorder = Recorder(drv, [_Count()], flush_interval_s=0.05)
        recorder.start(StopConditions(duration_s=10.0))
        dev.data(0, 10)
        drain(sub, lambda got: any(isinstance(i, SampleBlock) for i in got))
        dev.hang_up()
        drain(sub, lambda got: False, timeout_s=0.1)
        recorder.request_stop()  # the operator stops while the link is down
        summary = recorder.run()
        dev.come_back()  # the device still drives its set
        items = drain(sub, lambda got: any(isinstance(i, Reconnected) for i in got))
        time.sleep(0.2)
    assert summary.state == INTERRUPTED and "STOP could not reach the device" in summary.stopped_by
    assert [i.resumed for i in items if isinstance(i, Reconnected)] == [STOPPED_ON_RECONNECT]
    assert len(dev.commands(Start)) == 1 and not dev.streaming  # stopped on the reconnect, never started again
    assert len(dev.commands(Configure)) == 1  # nothing was resumed


def test_an_ascii_board_stopped_while_its_link_is_down_is_told_on_the_reconnect(make_device, profile):
    dev = make_device(protocol="ascii")
    with open_driver(dev.url, protocol="ascii", calibration=profile, reconnect_timeout_s=3.0) as drv:
        sub = drv.subscribe()
        drv.start()
        # the board has read the start line before the link goes (under load its thread may lag the driver)
        deadline = time.monotonic() + 5.0
        while ("start", None) not in dev.commands(tuple) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert ("start", None) in dev.commands(tuple)
        dev.write(b"".join(encode_sample(k, -k, 2 * k, counter=k) for k in range(3)))
        drain(sub, lambda got: any(isinstance(i, SampleBlock) for i in got))
        dev.hang_up()
        drain(sub, lambda got: False, timeout_s=0.1)
        try:
            drv.stop()
        except DaqError:
            pass
        dev.come_back()
        items = drain(sub, lambda got: any(isinstance(i, Reconnected) for i in got))
        commands = dev.wait_for(tuple, 3)
    assert [i.resumed for i in items if isinstance(i, Reconnected)] == [STOPPED_ON_RECONNECT]
    assert commands[-1] == ("stop", None) and ("start", None) not in commands[commands.index(("start", None)) + 1 :]


def test_frames_read_at_once_are_checked_one_by_one(make_device, profile):
    """Frames that arrive together are decoded as one run, but each is still dropped, repeated or placed on its own."""
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        sub = drv.subscribe()
        drv.start()
        frames = [dev.data_frame(0, 10), dev.data_frame(10, 10), dev.data_frame(20, 10, torque0=70_000),
                  dev.data_frame(10, 10), dev.data_frame(30, 10)]
        dev.write(b"".join(dev.encoder.encode(f) for f in frames))  # one write: one read, one run
        items = drain(sub, lambda got: len(indices(got)) >= 30)
        stats = drv.stats()
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    gaps = [i for i in items if isinstance(i, Gap)]
    assert indices(items) == list(range(20)) + list(range(30, 40)) and len(blocks) == 3
    assert [(g.after_index, g.missing, g.reason) for g in gaps] == [(19, 10, "malformed frame dropped")]
    assert stats.malformed == 1 and stats.frames_repeated == 1 and stats.lost_samples == 10
    np.testing.assert_array_equal(blocks[2].torque_nm, 0.5 * np.arange(10) + 1.0)
    np.testing.assert_array_equal(blocks[2].velocity_dps, -2.0 * np.arange(10) - 3.0)
    assert blocks[2].device_time_us.tolist() == [dev.device_time_us + 30_000 + 1000 * k for k in range(10)]
