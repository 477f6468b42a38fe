"""The simulated device's state machine, driven through the protocol codecs (no I/O, no clock)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from firmware_protocols import (
    Ack,
    AsciiComment,
    AsciiDecoder,
    AsciiSample,
    Capability,
    ChannelKind,
    Configure,
    Data,
    ErrorCode,
    Event,
    EventCode,
    FrameDecoder,
    FrameEncoder,
    Hello,
    Info,
    Marker,
    Mode,
    Nak,
    Ping,
    Pong,
    SampleStatus,
    Start,
    Stop,
    encode_command,
)
from simulators.adc import quantise
from simulators.device import SAMPLE_RATES_HZ, SimulatedDevice, firmware_version
from simulators.model import SetProtocol, default_profile, simulate_set
from simulators.source import chunk_seed


@dataclass(frozen=True)
class _Foreign:
    """A host frame of a type no device knows."""

    TYPE: ClassVar[int] = 0x3F

    def pack(self) -> bytes:
        return b"\x01\x02"


class Host:
    """Talks to a device through the real codecs."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device
        self.encoder = FrameEncoder()
        self.decoder = FrameDecoder()

    def send(self, message: object, at_s: float) -> int:
        seq = self.encoder.sequence
        self.device.receive(self.encoder.encode(message), device_time_s=at_s)  # type: ignore[arg-type]
        return seq

    def until(self, at_s: float) -> list[object]:
        return [f.message for f in self.decoder.feed(self.device.produce(at_s))]


def _of(messages: list[object], kind: type) -> list:
    return [m for m in messages if isinstance(m, kind)]


def _samples(messages: list[object]) -> tuple[np.ndarray, ...]:
    data = _of(messages, Data)
    cols = [np.concatenate([np.asarray(getattr(d, c)) for d in data]) for c in ("torque", "position", "velocity")]
    status = np.frombuffer(b"".join(d.status for d in data), dtype=np.uint8)
    index = np.concatenate([d.first_sample + np.arange(len(d)) for d in data])
    return index, cols[0], cols[1], cols[2], status


def test_hello_answers_info_with_the_simulator_identity() -> None:
    host = Host(SimulatedDevice(seed=7))
    host.send(Hello(1), 0.0)
    (info,) = host.until(0.0)
    assert isinstance(info, Info)
    assert (info.model, info.serial_number, info.firmware_version) == ("isokin-sim", "SIM-7", firmware_version())
    assert info.capabilities == Capability.DRIVES_MACHINE | Capability.MARKER_BUTTON
    assert info.sample_rates_hz == SAMPLE_RATES_HZ and info.max_samples_per_frame == 314
    assert [(c.kind, c.adc_bits) for c in info.channels] == [
        (ChannelKind.TORQUE, 16),
        (ChannelKind.POSITION, 16),
        (ChannelKind.VELOCITY, 16),
    ]


def test_hello_version_0_is_refused() -> None:
    host = Host(SimulatedDevice())
    seq = host.send(Hello(0), 0.0)
    assert host.until(0.0) == [Nak(Hello.TYPE, seq, ErrorCode.UNSUPPORTED_VERSION)]


@pytest.mark.parametrize(
    ("configure", "error"),
    [
        (Configure(1234), ErrorCode.UNSUPPORTED_RATE),
        (Configure(1000, 315), ErrorCode.BAD_VALUE),
        (Configure(1000, 0, Mode.CON_CON, 0, 60, 60, 90, 0, 3), ErrorCode.BAD_VALUE),  # ROM inverted
        (Configure(1000, 0, Mode.CON_CON, 0, 0, 60, 0, 90, 3), ErrorCode.BAD_VALUE),  # velocity 0
        (Configure(1000, 0, Mode.CON_ECC, 0, 60, 60, 0, 90, 3), ErrorCode.BAD_VALUE),  # no acting group
        (Configure(1000, 0, Mode.CON_CON, 0, 500, 500, 0, 5, 3), ErrorCode.BAD_VALUE),  # cannot reach 500 in 5 deg
        (Configure(1000, 0, Mode.ISOMETRIC, 0, 0, 0, 0, 90, 3), ErrorCode.BAD_VALUE),  # isometric holds one angle
        (Configure(1000, 0, Mode.PASSIVE, 0, 30, 30, 0, 90), ErrorCode.NOT_SUPPORTED),  # holds, moves no limb
        # Several faults: the first in PROTOCOL.md's order wins.
        (Configure(1234, 315), ErrorCode.BAD_VALUE),
        (Configure(1234, 0, Mode.PASSIVE, 0, 30, 30, 0, 90), ErrorCode.NOT_SUPPORTED),
    ],
)
def test_configure_refusals_name_the_reason(configure: Configure, error: ErrorCode) -> None:
    host = Host(SimulatedDevice())
    seq = host.send(configure, 0.0)
    assert host.until(0.0) == [Nak(Configure.TYPE, seq, error)]


def test_an_isometric_set_at_one_angle_is_accepted() -> None:
    host = Host(SimulatedDevice())
    seq = host.send(Configure(1000, 0, Mode.ISOMETRIC, -1, 0, 0, 60, 60, 3), 0.0)
    assert host.until(0.0) == [Ack(Configure.TYPE, seq)]


def test_configure_while_streaming_is_not_allowed_now() -> None:
    host = Host(SimulatedDevice())
    host.send(Start(), 0.0)
    seq = host.send(Configure(1000), 0.05)
    assert Nak(Configure.TYPE, seq, ErrorCode.NOT_ALLOWED_NOW) in host.until(0.05)


class _Raw:
    """A host frame with a payload that does not fit its type."""

    def __init__(self, type_code: int, payload: bytes) -> None:
        self.TYPE = type_code
        self._payload = payload

    def pack(self) -> bytes:
        return self._payload


def test_malformed_commands_are_refused_with_bad_length_or_bad_value() -> None:
    host = Host(SimulatedDevice())
    seq_short = host.send(_Raw(Configure.TYPE, b"\0" * 17), 0.0)
    seq_mode = host.send(_Raw(Configure.TYPE, Configure(1000).pack()[:6] + b"\x09" + Configure(1000).pack()[7:]), 0.0)
    seq_stop = host.send(_Raw(Stop.TYPE, b"\x01"), 0.0)
    assert host.until(0.0) == [
        Nak(Configure.TYPE, seq_short, ErrorCode.BAD_LENGTH),
        Nak(Configure.TYPE, seq_mode, ErrorCode.BAD_VALUE),
        Nak(Stop.TYPE, seq_stop, ErrorCode.BAD_LENGTH),
    ]


def test_unknown_and_device_types_are_refused_as_unknown() -> None:
    host = Host(SimulatedDevice())
    seq_foreign = host.send(_Foreign(), 0.0)
    seq_ack = host.send(Ack(1, 2), 0.0)
    assert host.until(0.0) == [
        Nak(0x3F, seq_foreign, ErrorCode.UNKNOWN_TYPE),
        Nak(Ack.TYPE, seq_ack, ErrorCode.UNKNOWN_TYPE),
    ]


def test_ping_answers_pong_with_the_device_clock() -> None:
    host = Host(SimulatedDevice())
    host.send(Ping(123456789), 2.5)
    assert host.until(2.5) == [Pong(123456789, 2_500_000)]


def test_streamed_data_is_the_adc_of_the_model_with_contiguous_indices_on_the_time_grid() -> None:
    device = SimulatedDevice(seed=5)
    host = Host(device)
    seq_cfg = host.send(Configure(500, 7, Mode.CON_CON, 0, 90.0, 120.0, 5.0, 85.0, 2), 0.0)
    seq_start = host.send(Start(), 0.01)
    messages = host.until(1.0)
    assert messages[:2] == [Ack(Configure.TYPE, seq_cfg), Ack(Start.TYPE, seq_start)]
    seq_stop = host.send(Stop(), 1.0)
    messages += host.until(1.5)
    assert messages[-1] == Ack(Stop.TYPE, seq_stop)
    data = _of(messages, Data)
    assert all(len(d) == 7 for d in data[:-1]) and 1 <= len(data[-1]) <= 7
    index, torque, position, velocity, status = _samples(messages)
    assert np.array_equal(index, np.arange(len(index)))
    assert len(index) == 496  # samples taken from t=0.01 s to t=1.0 s inclusive at 500 Hz
    assert all(d.timestamp_us == 10_000 + d.first_sample * 2000 for d in data)
    proto = SetProtocol(joint="knee", side="left", mode="con/con", velocity_dps=(90.0, 120.0), repetitions=2, rom_deg=(5.0, 85.0))
    sim = simulate_set(default_profile(), proto, sample_rate_hz=500.0, seed=chunk_seed(5, 0))
    n = len(index)
    assert np.array_equal(torque, quantise(sim.torque_nm[:n])[0])
    assert np.array_equal(position, quantise(sim.position_deg[:n])[0])
    assert np.array_equal(velocity, quantise(sim.velocity_dps[:n])[0])
    assert np.array_equal(status, sim.status[:n])


def test_limit_events_mark_each_arrival_at_a_range_end_and_set_complete_ends_the_set() -> None:
    device = SimulatedDevice(seed=2)
    host = Host(device)
    host.send(Configure(1000, 0, Mode.CON_CON, 0, 180.0, 180.0, 0.0, 90.0, 2), 0.0)
    host.send(Start(), 0.0)
    messages = host.until(60.0)
    assert not device.streaming
    events = _of(messages, Event)
    assert events[-1].code == EventCode.SET_COMPLETE and events[-1].value == 2
    assert messages[-1] == events[-1]
    index, _, position, _, status = _samples(messages)
    assert events[-1].sample_index == index[-1]
    at_limit = (status & SampleStatus.AT_RANGE_LIMIT) != 0
    rises = np.flatnonzero(at_limit[1:] & ~at_limit[:-1]) + 1
    limits = [e for e in events if e.code == EventCode.LIMIT_REACHED]
    assert [e.sample_index for e in limits] == rises.tolist()
    assert len(limits) == 4  # 2 repetitions each way, each ending at a range limit
    for e in limits:
        assert e.timestamp_us == e.sample_index * 1000
        assert e.value == (1 if position[e.sample_index] > position.mean() else -1)
    assert len(device.truth().reps) == 4


def test_marker_is_acked_and_reported_at_the_next_sample() -> None:
    host = Host(SimulatedDevice())
    host.send(Start(), 0.0)
    seq = host.send(Marker(42), 0.2555)
    messages = host.until(0.2555)
    # Samples 0..255 were taken by 255.5 ms at 1 kHz; the marker lines up with sample 256.
    assert messages[-2:] == [Ack(Marker.TYPE, seq), Event(255_500, 256, EventCode.MARKER_HOST, 42)]


def test_stop_flushes_the_partial_batch_before_its_ack_and_start_restarts_the_index() -> None:
    host = Host(SimulatedDevice())
    host.send(Start(), 0.0)
    host.until(0.0)
    seq = host.send(Stop(), 0.0155)
    messages = host.until(0.1)
    data = _of(messages, Data)
    assert [(d.first_sample, len(d)) for d in data] == [(0, 10), (10, 6)]
    assert messages[-1] == Ack(Stop.TYPE, seq)
    host.send(Start(), 1.0)
    restarted = _of(host.until(1.05), Data)
    assert restarted[0].first_sample == 0 and restarted[0].timestamp_us == 1_000_000


def test_the_default_set_repeats_until_stopped_with_truth_times_from_sample_zero() -> None:
    device = SimulatedDevice(seed=1, keep_emitted=True)
    host = Host(device)
    host.send(Start(), 0.0)
    messages = host.until(40.0)
    assert device.streaming and not [e for e in _of(messages, Event) if e.code == EventCode.SET_COMPLETE]
    truth = device.truth()
    first_set = simulate_set(default_profile(), SetProtocol(joint="knee", side="left"), sample_rate_hz=1000.0, seed=chunk_seed(1, 0))
    n_first = len(first_set.time_s)
    assert len(truth.reps) >= 20
    assert truth.reps[10].start_s == pytest.approx(first_set.truth.reps[0].start_s + n_first / 1000.0)
    assert [r.index for r in truth.reps] == list(range(len(truth.reps)))
    (run,) = device.emitted()
    index, torque, *_ = _samples(messages)
    assert np.array_equal(run.torque, torque) and np.array_equal(run.timestamp_us, index * 1000)


def test_ascii_streams_counter_lines_from_power_up_and_obeys_commands() -> None:
    device = SimulatedDevice(protocol="ascii", seed=3)
    decoder = AsciiDecoder()
    lines = decoder.feed(device.produce(0.0495))
    assert [s.counter for s in lines] == list(range(50))
    (run,) = device.emitted()
    assert [(s.torque, s.velocity, s.position) for s in lines] == list(zip(run.torque, run.velocity, run.position))
    device.receive(encode_command("rate", 500), device_time_s=0.05)
    assert decoder.feed(device.produce(0.05))[-1] == AsciiComment("error: stop before changing the rate")
    device.receive(encode_command("stop") + encode_command("rate", 1234) + b"jump\n", device_time_s=0.06)
    out = decoder.feed(device.produce(0.5))
    assert [m.text for m in out if isinstance(m, AsciiComment)] == [
        "error: rate 1234 Hz not supported",
        "error: unknown command 'jump'",
    ]
    assert [m.counter for m in out if isinstance(m, AsciiSample)] == list(range(50, 61))
    device.receive(encode_command("rate", 200) + encode_command("start"), device_time_s=1.0)
    restarted = decoder.feed(device.produce(1.1))
    assert [m.counter for m in restarted] == list(range(20))  # 200 Hz, batches of 2: 10 batches done by t=1.1


def test_ascii_without_counter_sends_three_fields() -> None:
    device = SimulatedDevice(protocol="ascii", ascii_counter=False)
    raw = device.produce(0.0095)
    assert raw.count(b"\n") == 10 and raw.count(b",") == 20
    assert all(sample.counter is None for sample in AsciiDecoder().feed(raw))


@pytest.mark.parametrize("kwargs", [{"protocol": "modbus"}, {"joint": "neck"}, {"side": "both"}, {"sample_rate_hz": 999}])
def test_bad_device_settings_raise_value_error(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SimulatedDevice(**kwargs)


def test_adc_counts_clip_to_int16_with_overrange() -> None:
    counts, clipped = quantise(np.array([0.0, 1.0, -1.0, 499.99, 500.0, -500.0, -600.0]))
    assert counts.tolist() == [0, 66, -66, 32767, 32767, -32768, -32768]
    assert clipped.tolist() == [False, False, False, False, True, False, True]


def test_passive_mode_holds_the_relaxed_limb_at_one_angle_for_weighing() -> None:
    host = Host(SimulatedDevice())
    seq = host.send(Configure(1000, 0, Mode.PASSIVE, 0, 0, 0, 50.0, 50.0), 0.0)
    host.send(Start(), 0.0)
    messages = host.until(2.0)
    assert messages[0] == Ack(Configure.TYPE, seq)
    _, torque, position, velocity, _ = _samples(messages)
    gain = 500 / 32768
    w = default_profile().pattern("knee", "flexion/extension").gravity_torque_nm
    assert abs(torque.mean() * gain - w * math.cos(math.radians(50.0))) < 0.1  # only the limb's weight
    assert abs(position.mean() * gain - 50.0) < 0.05 and np.ptp(position) * gain < 1.0  # held still
    assert abs(velocity.mean() * gain) < 0.1
    # A STOP and a new START hold it again: the configuration persists like a driving one.
    host.send(Stop(), 2.0)
    host.send(Start(), 2.0)
    _, torque2, _, _, _ = _samples(host.until(3.0))
    assert abs(torque2.mean() * gain - w * math.cos(math.radians(50.0))) < 0.1
