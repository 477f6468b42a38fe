"""Seeded fault injection: reproducible, and its log says exactly which frames it changed."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocols import Data, FrameDecoder, FrameEncoder, Pong
from simulators.device import OutFrame
from simulators.faults import FaultConfig, FaultInjector, FaultLog


def _frames(n: int = 300) -> list[OutFrame]:
    enc = FrameEncoder()
    frames = []
    for k in range(n):
        if k % 25 == 24:
            frames.append(OutFrame(enc.encode(Pong(k, k)), "PONG", -1, 0, 0))
        else:
            first = 10 * k
            data = Data.from_samples(first * 1000, first, list(range(10)), list(range(10)), list(range(10)))
            frames.append(OutFrame(enc.encode(data), "DATA", 0, first, 10))
    return frames


def _apply(frames: list[OutFrame], seed: int, **rates: float) -> tuple[list[bytes], FaultLog]:
    log = FaultLog()
    out = FaultInjector(seed=seed, log=log, **{"corrupt_rate": 0.0, "drop_rate": 0.0, **rates}).apply(frames)
    return out, log


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    frames = _frames()
    a, log_a = _apply(frames, 1, corrupt_rate=2e-3, drop_rate=1e-3)
    b, log_b = _apply(frames, 1, corrupt_rate=2e-3, drop_rate=1e-3)
    c, _ = _apply(frames, 2, corrupt_rate=2e-3, drop_rate=1e-3)
    assert a == b and log_a.frames == log_b.frames
    assert a != c


def test_outcome_does_not_depend_on_how_the_stream_is_cut_into_calls() -> None:
    frames = _frames()
    whole, _ = _apply(frames, 9, corrupt_rate=3e-3, drop_rate=2e-3)
    log = FaultLog()
    injector = FaultInjector(corrupt_rate=3e-3, drop_rate=2e-3, seed=9, log=log)
    pieces = [out for k in range(0, len(frames), 7) for out in injector.apply(frames[k : k + 7])]
    assert pieces == whole


def test_the_log_lists_exactly_the_frames_that_changed() -> None:
    frames = _frames()
    out, log = _apply(frames, 4, corrupt_rate=2e-3, drop_rate=2e-3)
    logged = {(f.kind, f.first_sample): f for f in log.frames}
    changed = 0
    for frame, sent in zip(frames, out):
        entry = logged.get((frame.kind, frame.first_sample)) if frame.sample_count else None
        if sent == frame.data:
            assert entry is None
            continue
        changed += 1
        if frame.sample_count:
            assert entry is not None
            if len(sent) < len(frame.data):
                assert entry.fate == "dropped" and entry.bytes_affected >= len(frame.data) - len(sent)
            else:
                n_diff = sum(x != y for x, y in zip(sent, frame.data))
                assert entry.fate == "corrupted" and entry.bytes_affected == n_diff
    assert changed > 10
    assert len(log.frames) == changed


def test_the_decoder_loses_exactly_the_logged_data_frames() -> None:
    frames = _frames()
    out, log = _apply(frames, 11, corrupt_rate=1e-3, drop_rate=1e-3)
    decoded = FrameDecoder().feed(b"".join(out))
    received = {f.message.first_sample for f in decoded if isinstance(f.message, Data)}
    lost = {f.first_sample for f in log.frames if f.kind == "DATA"}
    assert received == {f.first_sample for f in frames if f.sample_count} - lost
    assert log.lost_samples() == 10 * len(lost)
    mask = log.lost_mask(0, 10 * len(frames))
    assert int(mask.sum()) == log.lost_samples()


def test_no_rates_no_change() -> None:
    frames = _frames(20)
    out, log = _apply(frames, 1)
    assert out == [f.data for f in frames] and not log.frames


def test_a_frame_is_logged_once() -> None:
    log = FaultLog()
    frame = _frames(1)[0]
    log.add(frame, "corrupted", 1)
    log.add(frame, "cut")
    assert [f.fate for f in log.frames] == ["corrupted"]
    with pytest.raises(ValueError):
        log.add(frame, "eaten")


@pytest.mark.parametrize(
    "kwargs",
    [{"corrupt_rate": 1.0}, {"drop_rate": -0.1}, {"disconnect_after_s": -1.0}, {"reconnect_delay_s": float("nan")}, {"drift_ppm": 1e6}],
)
def test_bad_fault_settings_raise_value_error(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**kwargs)


def test_corruption_rate_is_what_was_asked() -> None:
    frames = _frames(400)
    out, log = _apply(frames, 3, corrupt_rate=0.01)
    total = sum(len(f.data) for f in frames)
    corrupted = sum(f.bytes_affected for f in log.frames)
    assert corrupted == pytest.approx(0.01 * total, rel=0.15)
    assert np.all([len(a) == len(f.data) for a, f in zip(out, frames)])
