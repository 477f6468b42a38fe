"""Clock fit and sample indexing: pure parts of the driver, checked against analytic answers."""

from __future__ import annotations

import numpy as np

from daq.indexing import SampleIndexer
from daq.timing import ClockFit


def feed_frames(fit: ClockFit, *, drift_ppm: float, offset_s: float, jitter_s: float, seconds: float, seed: int = 1):
    """100 frames/s of 10 samples at 1 kHz; arrival = true host time of the last sample + latency."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(int(seconds * 100)):
        device_us = np.arange(10 * k, 10 * k + 10, dtype=np.int64) * 1000
        host_true = offset_s + device_us[-1] / 1e6 / (1 + drift_ppm * 1e-6)
        fit.add(int(device_us[-1]), host_true + 0.002 + rng.exponential(jitter_s), 10 * k + 9)
        out.append(fit.map_block(device_us))
    return np.concatenate(out)


def test_the_fit_recovers_the_device_clock_drift_and_offset():
    fit = ClockFit(0, 0)
    feed_frames(fit, drift_ppm=150.0, offset_s=1000.0, jitter_s=0.0003, seconds=30)
    seg = fit.snapshot()
    assert abs(seg.drift_ppm - 150.0) < 5.0
    # offset absorbs the mean latency: 2 ms fixed + 0.3 ms mean jitter
    assert abs(seg.offset_s - 1000.0023) < 0.0002
    assert 0.0001 < seg.residual_rms_s < 0.001
    assert (seg.first_index, seg.last_index, seg.points) == (0, 29999, 3000)


def test_published_times_never_go_backward_and_converge_to_the_fit():
    fit = ClockFit(0, 0)
    host = feed_frames(fit, drift_ppm=-80.0, offset_s=50.0, jitter_s=0.004, seconds=20)  # bursty, FTDI-like
    assert np.all(np.diff(host) > 0)
    device_s = np.arange(len(host)) / 1000
    line = fit.snapshot().offset_s + fit.snapshot().slope * device_s
    assert np.max(np.abs(host[-1000:] - line[-1000:])) < 0.002


def test_drift_is_not_reported_before_the_segment_spans_two_seconds():
    fit = ClockFit(0, 0)
    feed_frames(fit, drift_ppm=100.0, offset_s=0.0, jitter_s=0.0001, seconds=1)
    assert fit.snapshot().drift_ppm is None


def test_a_device_clock_ten_times_too_fast_is_measured_and_followed():
    """A simulator at speed 10 is no drifting crystal: its rate is reported, and times keep device seconds."""
    fit = ClockFit(0, 0)
    host = feed_frames(fit, drift_ppm=9e6, offset_s=0.0, jitter_s=0.00001, seconds=10)
    seg = fit.snapshot()
    assert seg.follows_device_clock
    assert abs(seg.drift_ppm - 9e6) < 1e3  # measured: the device clock runs 10x the host's
    assert np.all(np.diff(host) > 0)
    np.testing.assert_allclose(np.diff(host), 0.001, atol=1e-9)  # 1 kHz in device seconds
    assert abs((host[-1] - host[0]) - 9.999) < 1e-6


def test_a_plausible_drift_is_corrected_not_followed():
    fit = ClockFit(0, 0)
    host = feed_frames(fit, drift_ppm=5000.0, offset_s=0.0, jitter_s=0.00001, seconds=10)
    assert not fit.snapshot().follows_device_clock
    assert abs((host[-1] - host[0]) - 9.999 / 1.005) < 1e-3


def test_indexer_counts_gaps_across_the_counter_wrap():
    ix = SampleIndexer(modulus=1 << 32)
    ix.restart((1 << 32) - 10)
    assert ix.place((1 << 32) - 10, 8) == (0, 0)
    assert ix.place(3, 5) == (13, 5)  # device 2**32-2, -1, 0, 1, 2 never arrived
    assert ix.last_index == 17


def test_indexer_reports_a_backward_counter_and_resumes_with_the_given_count():
    ix = SampleIndexer()
    ix.place(0, 100)
    assert ix.place(40, 10) is None
    assert ix.resume_after(25, 40, 10) == 125
    assert ix.place(50, 1) == (135, 0)


def test_restart_without_a_known_value_accepts_whatever_comes_next():
    ix = SampleIndexer()
    ix.place(0, 5)
    ix.restart(None)
    assert ix.place(123_456, 1) == (5, 0)


def test_a_reconnect_of_a_fast_device_clock_keeps_the_gap_in_device_seconds():
    """After a link drop, a segment following a simulator's clock continues the previous map."""
    first = ClockFit(0, 0)
    host_a = feed_frames(first, drift_ppm=19e6, offset_s=0.0, jitter_s=0.00001, seconds=3)
    seg = first.snapshot()
    assert seg.follows_device_clock
    # The device ran on for 4 s of its clock while the host (at 20x) waited 0.2 s.
    second = ClockFit(1, 7000, prior_slope=seg.slope, follow_from=(2.999, float(host_a[-1])))
    device_us = np.arange(7000, 7010, dtype=np.int64) * 1000
    second.add(int(device_us[-1]), 3.0 / 20 + 0.2, 7009)
    host_b = second.map_block(device_us)
    assert abs((host_b[0] - host_a[-1]) - 4.001) < 1e-9


def test_placing_a_block_gives_the_host_times_of_mapping_it_exactly():
    """The driver places a block by its first and last device time (its arrays are made later, by the reader of
    the block); the times are the same, to the bit, as mapping the whole block."""
    mapped, placed = ClockFit(0, 0), ClockFit(0, 0)
    rng = np.random.default_rng(3)
    elapsed_s = np.arange(10, dtype=np.int64) * 1000 / 1e6
    for k in range(500):
        device_us = np.arange(10 * k, 10 * k + 10, dtype=np.int64) * 1000
        arrival = 7.0 + device_us[-1] / 1e6 * (1 + 40e-6) + rng.exponential(0.002)
        for fit in (mapped, placed):
            fit.add(int(device_us[-1]), arrival, 10 * k + 9)
        start, slope = placed.place_block(int(device_us[0]), int(device_us[-1]), float(elapsed_s[-1]))
        assert np.array_equal(mapped.map_block(device_us), start + slope * elapsed_s)
