"""The recorder: CSV content, notes at their place, incremental flushing, stop conditions."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from daq.csv_sink import CsvSink
from daq.devices import open_driver
from daq.errors import RecordingFormatError
from daq.recorder import Recorder, StopConditions
from daq.recording import read_recording
from firmware_protocols import Event, EventCode, Start


def csv_recorder(drv, path, metadata: dict, **kwargs) -> Recorder:
    return Recorder(drv, [CsvSink(path, metadata)], **kwargs)


def run_in_thread(recorder: Recorder, duration_s: float | None = None, stop=None) -> tuple[threading.Thread, dict]:
    out: dict = {}
    conditions = StopConditions(duration_s=duration_s)
    thread = threading.Thread(target=lambda: out.setdefault("summary", recorder.record(conditions, stop)), daemon=True)
    thread.start()
    return thread, out


def test_recording_holds_calibrated_samples_metadata_and_notes_in_place(make_device, profile, tmp_path):
    dev = make_device()
    path = tmp_path / "rec.csv"
    with open_driver(dev.url, calibration=profile) as drv:
        recorder = csv_recorder(drv, path, {"joint": "knee", "side": "right", "body_mass_kg": 75.0})
        thread, out = run_in_thread(recorder, duration_s=10.0)
        dev.wait_for(Start)
        dev.data(0, 10)
        dev.encoder.encode(dev.data_frame(10, 10))  # lost on the way
        dev.data(20, 10, torque0=20)
        dev.send(Event(5_029_000, 29, EventCode.SET_COMPLETE, 3))
        thread.join(timeout=5)
    summary = out["summary"]
    rec = read_recording(path)
    assert summary.stopped_by == "set complete"
    assert (summary.samples, summary.gaps, summary.lost_samples) == (20, 1, 10)
    assert rec.extra["sequence"].tolist() == list(range(10)) + list(range(20, 30))
    np.testing.assert_array_equal(rec.torque_nm, 0.5 * np.r_[np.arange(10), np.arange(20, 30)] + 1.0)
    np.testing.assert_array_equal(rec.velocity_dps, 2.0 * -np.r_[np.arange(10), np.arange(10)] - 3.0)
    assert rec.extra["device_time_us"][10] == 5_020_000
    assert rec.time_s[0] == 0.0 and np.all(np.diff(rec.time_s) > 0)
    assert rec.metadata["joint"] == "knee" and rec.metadata["body_mass_kg"] == "75.0"
    assert (rec.metadata["device"], rec.metadata["device_serial"], rec.metadata["calibration"]) == (dev.url, "TEST-1", "unit-test")
    assert rec.notes[0] == "gap: 10 samples lost after sequence 9 (counted from the sample index; sequence jump)"
    assert rec.notes[1] == "event: SET_COMPLETE 3 at sequence 29"
    assert rec.notes[2].startswith("clock: segment 0 sequence 0..29: host_s = ")
    lines = path.read_text().splitlines()
    assert lines.index("# " + rec.notes[0]) == lines.index(next(line for line in lines if line.endswith(",9,5009000"))) + 1


def test_rows_reach_the_disk_while_recording(make_device, profile, tmp_path):
    dev = make_device(autostream_hz=1000)
    path = tmp_path / "live.csv"
    stop = threading.Event()
    with open_driver(dev.url, calibration=profile) as drv:
        thread, _ = run_in_thread(csv_recorder(drv, path, {}, flush_interval_s=0.1), stop=stop)
        deadline = time.monotonic() + 5
        while path.read_text().count("\n") < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        on_disk_while_running = path.read_text().count("\n")
        running = thread.is_alive()
        stop.set()
        thread.join(timeout=5)
    assert running and on_disk_while_running >= 30


def test_every_sample_sent_before_stop_is_recorded(make_device, profile, tmp_path):
    dev = make_device(autostream_hz=1000)
    path = tmp_path / "all.csv"
    with open_driver(dev.url, calibration=profile) as drv:
        summary = csv_recorder(drv, path, {}).record(StopConditions(duration_s=0.5))
    rec = read_recording(path)
    assert summary.stopped_by == "duration"
    assert summary.samples == len(rec) == dev.sent_samples > 0
    assert rec.extra["sequence"].tolist() == list(range(len(rec)))
    assert (summary.gaps, summary.lost_samples, summary.crc_errors, summary.overflow_drops) == (0, 0, 0, 0)


def test_an_unwritable_path_fails_before_the_device_starts(make_device, profile, tmp_path):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        with pytest.raises(RecordingFormatError, match="cannot write"):
            csv_recorder(drv, tmp_path / "missing" / "rec.csv", {})
    assert dev.commands(Start) == []


def test_a_lost_device_ends_the_recording_and_keeps_the_file(make_device, profile, tmp_path):
    dev = make_device()
    path = tmp_path / "lost.csv"
    with open_driver(dev.url, calibration=profile, reconnect_timeout_s=0.3) as drv:
        thread, out = run_in_thread(csv_recorder(drv, path, {}), duration_s=10.0)
        dev.wait_for(Start)
        dev.data(0, 10)
        time.sleep(0.1)
        dev.hang_up()
        thread.join(timeout=5)
    rec = read_recording(path)
    assert out["summary"].stopped_by == "device lost"
    assert len(rec) == 10
    assert rec.notes[0].startswith("disconnected after sequence 9: ")
    assert rec.notes[1] == "stream ended: device lost"


def test_a_second_recording_on_the_same_driver_numbers_its_samples_and_clock_from_zero(make_device, profile, tmp_path):
    dev = make_device()
    with open_driver(dev.url, calibration=profile) as drv:
        for name in ("first.csv", "second.csv"):
            thread, _ = run_in_thread(csv_recorder(drv, tmp_path / name, {}), duration_s=10.0)
            deadline = time.monotonic() + 5
            while not drv.streaming:  # START's ACK has reached the driver
                assert time.monotonic() < deadline
                time.sleep(0.005)
            for first in range(0, 300, 10):  # each START restarts the device's counter and, here, its clock
                dev.data(first, 10)
            dev.send(Event(dev.device_time_us + 299_000, 299, EventCode.SET_COMPLETE, 1))
            thread.join(timeout=5)
    second = read_recording(tmp_path / "second.csv")
    assert second.extra["sequence"].tolist() == list(range(300))  # the trial's own numbering, not the driver's
    clocks = [n for n in second.notes if n.startswith("clock:")]
    assert len(clocks) == 1 and clocks[0].startswith("clock: segment 0 sequence 0..299:")  # its own clock only
    assert second.notes[0] == "event: SET_COMPLETE 1 at sequence 299"


def test_a_device_clock_glitch_moves_nothing_after_it(make_device, profile, tmp_path):
    dev = make_device()
    path = tmp_path / "glitch.csv"
    with open_driver(dev.url, calibration=profile) as drv:
        recorder = csv_recorder(drv, path, {})
        thread, out = run_in_thread(recorder, duration_s=10.0)
        deadline = time.monotonic() + 5
        while not drv.streaming:  # START's ACK has reached the driver
            assert time.monotonic() < deadline
            time.sleep(0.005)
        for first in range(0, 100, 10):
            glitch = {"timestamp_us": dev.device_time_us + first * 1000 + 2**32} if first == 50 else {}
            dev.data(first, 10, **glitch)  # a non-atomic read of a 64-bit timer, once
        dev.send(Event(dev.device_time_us + 99_000, 99, EventCode.SET_COMPLETE, 1))
        thread.join(timeout=5)
    rec = read_recording(path)
    summary = out["summary"]
    assert np.diff(rec.time_s) == pytest.approx(0.001, abs=1e-9)  # the index places the glitched frame and the rest
    assert rec.time_s[-1] == pytest.approx(0.099) and summary.duration_s == pytest.approx(0.099)
    assert (summary.gaps, summary.lost_samples) == (0, 0)
    assert rec.extra["device_time_us"][50] - rec.extra["device_time_us"][49] == 2**32 + 1000  # the raw clock, kept
