"""The Lab Streaming Layer sink, against real pylsl inlets on loopback (tests/conftest.py: ``lsl_loopback``).

The device is the in-process simulator at real time, so the driver's clock fit maps its clock
onto the host's monotonic clock as it would a board's.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from daq.calibration import load_profile
from daq.devices import open_driver
from daq.lsl_sink import CHANNELS, LslOutlets, LslSink, LslUnavailableError, load_pylsl
from daq.plan import SetPlan
from daq.recorder import MemorySink, Recorder, StopConditions
from daq.timing import MAX_CLOCK_ERROR
from simulators import register_url_handler

RATE_HZ = 1000


def _pull_all(inlet, *, timeout_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    values, stamps = [], []
    while True:
        chunk, ts = inlet.pull_chunk(timeout=timeout_s, max_samples=100_000)
        if not ts:
            return np.asarray(values, dtype=np.float32).reshape(-1, 3), np.asarray(ts and stamps or stamps)
        values += chunk
        stamps += ts


def _markers(inlet) -> list[tuple[float, str]]:
    out = []
    while True:
        sample, ts = inlet.pull_sample(timeout=1.0)
        if sample is None:
            return out
        out.append((ts, sample[0]))


def _record(url: str, seconds: float, *, repetitions: int = 3):
    """Open the simulator at ``url``, open the outlets and an inlet on each stream, then record with the LSL sink."""
    import pylsl

    register_url_handler()
    driver = open_driver(url, calibration=load_profile("simulator"), sample_rate_hz=RATE_HZ)
    try:
        driver.configure(SetPlan.for_set("knee", "con/con", velocity_dps=60, repetitions=repetitions, rom_deg=(30.0, 60.0),
                                         sample_rate_hz=RATE_HZ))
        outlets = LslOutlets()
        outlets.open(driver)
        found = pylsl.resolve_byprop("source_id", outlets.source_id, minimum=1, timeout=10)
        found_markers = pylsl.resolve_byprop("source_id", outlets.source_id + ":markers", minimum=1, timeout=10)
        assert len(found) == 1 and len(found_markers) == 1, "both streams resolve on loopback"
        inlet, markers = pylsl.StreamInlet(found[0], max_chunklen=0), pylsl.StreamInlet(found_markers[0])
        inlet.open_stream(10)
        markers.open_stream(10)
        assert outlets.wait_for_consumers(10)
        kept = MemorySink()
        summary = Recorder(driver, [kept, LslSink(outlets, label="test", own_outlets=False)], flush_interval_s=0.1).record(
            StopConditions(duration_s=seconds))
        data, stamps = _pull_all(inlet)
        marks = _markers(markers)
        info = inlet.info(timeout=5)
        outlets.close()
        return driver, outlets, summary, kept, data, stamps, marks, info
    finally:
        driver.close()


@pytest.fixture(scope="module")
def steady(lsl_loopback):
    return _record("sim://?seed=21", 3.0)


def test_every_sample_arrives_in_order_with_the_device_clock_mapping(steady):
    driver, outlets, summary, kept, data, stamps, _, _ = steady
    sent = np.concatenate([np.column_stack((b.block.torque_nm, b.block.position_deg, b.block.velocity_dps))
                           for b in kept.blocks]).astype(np.float32)  # fmt: skip
    assert summary.samples == len(sent) == len(data) > 2 * RATE_HZ
    np.testing.assert_array_equal(data, sent)  # every sample, in order, as recorded
    # the timestamps are the driver's device-clock mapping moved onto LSL's clock, exactly
    mapped = np.concatenate([b.block.host_time_s for b in kept.blocks]) + outlets.clock_offset_s
    np.testing.assert_array_equal(stamps, mapped)
    assert abs(outlets.clock_offset_s) < 1e-3  # local_clock() reads the monotonic clock on Linux


def test_timestamp_spacing_matches_the_device_rate(steady, capsys):
    _, _, _, kept, _, stamps, _, _ = steady
    device_s = np.concatenate([b.block.device_time_us for b in kept.blocks]) / 1e6
    spacing = np.diff(stamps)
    assert np.all(spacing > 0)
    # over the recording, LSL time follows the device clock: the fitted rate within the clock accuracy the
    # driver accepts (MAX_CLOCK_ERROR, 1 %), the median step one sample period within it
    slope, intercept = np.polyfit(device_s - device_s[0], stamps - stamps[0], 1)
    residual = stamps - stamps[0] - (intercept + slope * (device_s - device_s[0]))
    assert abs(slope - 1.0) < MAX_CLOCK_ERROR
    assert abs(np.median(spacing) * RATE_HZ - 1.0) < MAX_CLOCK_ERROR
    # no step is the serial link's jitter: within a block the device's own step (x the fit's slope), between
    # blocks at most half a period of slew toward the fit (daq.timing)
    assert np.all((spacing > 0.5 / RATE_HZ * (1 - MAX_CLOCK_ERROR)) & (spacing < 1.5 / RATE_HZ * (1 + MAX_CLOCK_ERROR)))
    with capsys.disabled():
        print(f"\n  LSL spacing: median {np.median(spacing) * 1e3:.5f} ms, 5-95 % {np.percentile(spacing, 5) * 1e3:.4f}-"
              f"{np.percentile(spacing, 95) * 1e3:.4f} ms; vs device clock: slope {slope:.6f}, residual RMS "
              f"{np.sqrt(np.mean(residual**2)) * 1e3:.3f} ms, max {np.max(np.abs(residual)) * 1e3:.3f} ms")


def test_the_metadata_parses_as_xdf_readers_read_it(steady):
    driver, outlets, _, _, _, _, _, info = steady
    assert info.type() == "Dynamometer" and info.channel_count() == 3 and info.nominal_srate() == RATE_HZ
    assert info.source_id() == "isokin:isokin-sim:SIM-21" and info.name() == "isokin isokin-sim SIM-21"
    import pylsl

    assert info.channel_format() == pylsl.cf_float32
    root = ET.fromstring(info.as_xml())
    channels = [(c.findtext("label"), c.findtext("unit"), c.findtext("type")) for c in root.find("desc/channels")]
    assert tuple(channels) == CHANNELS
    assert root.findtext("desc/acquisition/compensated_lag") == "0"
    assert root.findtext("desc/acquisition/serial_number") == "SIM-21"
    assert float(root.findtext("desc/isokin/clock_offset_s")) == pytest.approx(outlets.clock_offset_s, abs=1e-8)


def test_markers_carry_the_trial_the_set_its_repetitions_and_device_events(steady):
    _, _, summary, kept, _, stamps, marks, _ = steady
    texts = [text for _, text in marks]
    assert texts[0] == "trial start test"
    assert texts[1].startswith("set start: knee flexion/extension con/con 60/60 deg/s, 3 repetitions, 30..60 deg")
    assert texts[-2] == f"set end ({summary.stopped_by})" and texts[-1].startswith(f"trial stop test: complete ({summary.stopped_by})")
    starts = [t for t in texts if t.startswith("repetition start")]
    ends = [t for t in texts if t.startswith("repetition end")]
    assert len(starts) >= 2 and len(ends) >= 2 and starts[0].startswith("repetition start 1 toward -")
    # each marker is stamped at its sample, even when the device's event arrived after later samples
    index = np.concatenate([b.block.index for b in kept.blocks])
    at = dict(zip(index.tolist(), stamps.tolist()))
    limits = [(ts, text) for ts, text in marks if text.startswith("event: LIMIT_REACHED")]
    assert limits
    for ts, text in limits + [(ts, text) for ts, text in marks if text.startswith("repetition ")]:
        assert ts == at[int(text.rsplit(" ", 1)[1])], text
    assert stamps[0] - 0.5 <= marks[0][0] and marks[-1][0] <= stamps[-1] + 1e-9


def test_a_gap_appears_as_a_marker_at_the_last_sample_before_it(lsl_loopback):
    _, _, summary, kept, data, stamps, marks, _ = _record(
        "sim://?seed=22&fault_disconnect_after=0.8&fault_reconnect_delay=0.3", 2.5)
    assert summary.gaps == 1 and summary.lost_samples > 0 and len(data) == summary.samples
    index = np.concatenate([b.block.index for b in kept.blocks])
    jump = int(np.flatnonzero(np.diff(index) > 1)[0])
    gap = [(ts, text) for ts, text in marks if text.startswith("gap:")]
    assert len(gap) == 1
    ts, text = gap[0]
    assert text == (f"gap: {summary.lost_samples} samples lost after sequence {index[jump]} "
                    "(counted from the sample index; disconnect)")  # fmt: skip
    assert ts == stamps[jump]  # at the last sample before the gap
    assert any(t.startswith("disconnected after sequence") for _, t in marks)
    assert any(t.startswith("reconnected after") for _, t in marks)
    # the timestamps jump by the lost samples' time, measured by the device clock
    assert stamps[jump + 1] - stamps[jump] == pytest.approx((summary.lost_samples + 1) / RATE_HZ, rel=0.02)


def test_without_pylsl_the_error_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pylsl", None)  # import pylsl now raises ImportError
    with pytest.raises(LslUnavailableError, match=r"pip install 'isokin\[lsl\]'.*PYLSL_LIB"):
        load_pylsl()
    from api.cli import main

    out = tmp_path / "never.csv"
    assert main(["record", "sim://", "--seconds", "1", "--out", str(out), "--lsl"]) == 1
    assert not out.exists()  # refused before the device opened
    assert main(["serve", "--lsl", "--data-dir", str(tmp_path), "--device", "none"]) == 1
    err = capsys.readouterr().err
    assert err.count("pip install 'isokin[lsl]'") == 2 and "isokin serve: error: publishing to Lab Streaming Layer" in err


def test_isokin_record_lsl_publishes_to_a_waiting_recorder(lsl_loopback, tmp_path):
    import pylsl

    out = tmp_path / "rec.csv"
    script = subprocess.Popen(
        [str(Path(sys.executable).parent / "isokin"), "record", "sim://?seed=23&speed=5", "--seconds", "1.5", "--out", str(out),
         "--joint", "knee", "--side", "left", "--mode", "con/con", "--velocity-dps", "60", "--repetitions", "2",
         "--lsl", "--lsl-wait-s", "20"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        found = pylsl.resolve_byprop("source_id", "isokin:isokin-sim:SIM-23", minimum=1, timeout=20)
        marker_streams = pylsl.resolve_byprop("source_id", "isokin:isokin-sim:SIM-23:markers", minimum=1, timeout=20)
        markers = pylsl.StreamInlet(marker_streams[0])
        markers.open_stream(10)
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(10)
        data, stamps = _pull_all(inlet, timeout_s=5.0)
        marks = _markers(markers)
        _, stderr = script.communicate(timeout=60)
    finally:
        script.kill()
    assert script.returncode == 0, stderr
    from daq.recording import read_recording

    recorded = read_recording(out)
    assert len(data) == len(recorded.time_s)
    np.testing.assert_allclose(data, np.column_stack((recorded.torque_nm, recorded.position_deg, recorded.velocity_dps)),
                               atol=1e-5)  # the CSV keeps 6 decimals, LSL float32
    assert marks[0][1] == "trial start left knee con/con 60" and marks[-1][1].startswith("trial stop left knee con/con 60")
    assert "waiting up to 20 s for an LSL consumer" in stderr
