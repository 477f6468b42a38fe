"""End to end: ``isokin sim`` in another process <-> the driver and recorder, over a real pty and TCP.

The simulator logs every sample it emitted (counts, sample index, whether its frame
reached the host intact). Each test checks the recording against that log exactly:
every sample the simulator delivered is in the file with the calibrated value the
recorder must write, and the samples the driver reports lost are exactly those whose
frames the simulator corrupted, dropped or cut by its disconnect.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from daq.calibration import load_profile
from daq.csv_sink import CsvSink
from daq.devices import open_driver
from daq.recorder import Recorder, RecordingSummary, StopConditions
from daq.recording import read_recording
from simulators import register_url_handler
from simulators.emitted import EmittedLog, load_emitted
from simulators.urlhandler import find_session

SIM = load_profile("simulator")


class SimProcess:
    """``isokin sim`` as a subprocess: its first line of output is where to connect."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.emitted_path = tmp_path / "emitted.npz"
        cmd = [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main(sys.argv[1:]))",
               "sim", "--speed", "10", "--seed", "7",
               "--emitted-log", str(self.emitted_path), *args]
        if "--tcp" not in args:
            cmd += ["--pty", "--link", str(tmp_path / "sim-link")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready, "isokin sim printed nothing in 30 s"
        self.url = self.proc.stdout.readline().strip()
        assert self.url, self.proc.stderr.read()

    def stop(self) -> EmittedLog:
        """SIGTERM (the simulator writes its emitted log on the way out), then read the log."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return load_emitted(self.emitted_path)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def sim(tmp_path):
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        started.append(SimProcess(tmp_path, *args))
        return started[-1]

    yield start
    for s in started:
        s.kill()


def as_written(values: np.ndarray) -> np.ndarray:
    """What the recording CSV holds for a float: 6 decimals, read back."""
    return np.array([float(f"{v:.6f}") for v in values])


def check_against_emitted(csv: Path, emitted: EmittedLog) -> tuple[np.ndarray, int]:
    """Assert every recorded sample equals the emitted one; return the recorded indices and
    the number of samples the simulator failed to deliver inside the recorded range."""
    rec = read_recording(csv)
    run = emitted.run(0)
    assert len(emitted.sample_rates_hz) == 1, "one START, one run"
    seq = rec.extra["sequence"]
    at = np.searchsorted(run["sample_index"], seq)
    assert np.array_equal(run["sample_index"][at], seq)
    for column, counts in (("torque_nm", "torque"), ("position_deg", "position"), ("velocity_dps", "velocity")):
        cal = getattr(SIM, column.split("_")[0])
        np.testing.assert_array_equal(getattr(rec, column), as_written(cal.apply(run[counts][at])))
    assert np.array_equal(rec.extra["status"], run["status"][at])
    assert np.array_equal(rec.extra["device_time_us"], run["timestamp_us"][at])
    inside = (run["sample_index"] >= seq[0]) & (run["sample_index"] <= seq[-1])
    assert np.array_equal(run["sample_index"][inside & run["delivered"]], seq), "recorded = delivered, exactly"
    # The whole run, not only the recorded range: nothing delivered is missing at either end ...
    assert np.array_equal(run["sample_index"][run["delivered"]], seq), "recorded = delivered over the whole run"
    inside = run["sample_index"] <= seq[-1]  # a loss before the first row is a gap after sequence -1
    # ... and a loss after the last row is reported: exactly (SET_COMPLETE) or as lost frames, never silently.
    tail = int(np.count_nonzero(~run["delivered"] & (run["sample_index"] > seq[-1])))
    tail_notes = [n for n in rec.notes if n.startswith(("gap: ", f"gap: samples lost after sequence {seq[-1]}"))
                  and (f"after sequence {seq[-1]} " in n or f"after sequence {seq[-1]}," in n)]
    if tail:
        assert len(tail_notes) == 1, f"{tail} samples lost after the last row, reported as {tail_notes}"
        if "count unknown" in tail_notes[0]:
            return seq, int(np.count_nonzero(inside & ~run["delivered"]))
        assert tail_notes[0].startswith(f"gap: {tail} samples lost after sequence {seq[-1]} ")
    else:
        assert not tail_notes, tail_notes
    return seq, int(np.count_nonzero(~run["delivered"]))


def record(url: str, csv: Path, seconds: float, **options: object) -> RecordingSummary:
    with open_driver(url, calibration=SIM, **options) as drv:
        return Recorder(drv, [CsvSink(csv, {"joint": "knee", "side": "left"})]).record(StopConditions(duration_s=seconds))


def test_clean_stream_through_a_pty_is_recorded_exactly_with_zero_loss(sim, tmp_path, capsys):
    s = sim()
    csv = tmp_path / "clean.csv"
    assert main(["record", s.url, "--seconds", "1.5", "--out", str(csv), "--joint", "knee", "--side", "left"]) == 0
    emitted = s.stop()
    seq, undelivered = check_against_emitted(csv, emitted)
    assert undelivered == 0 and emitted.lost_samples == 0
    assert len(seq) > 5000 and seq[0] == 0 and np.all(np.diff(seq) == 1)
    out = capsys.readouterr().out
    assert "gaps: 0, lost samples: 0, CRC errors: 0, bytes discarded: 0" in out
    assert read_recording(csv).metadata["calibration"] == "simulator"  # chosen from the model isokin-sim


def test_corrupted_and_dropped_bytes_lose_exactly_the_damaged_frames(sim, tmp_path):
    s = sim("--fault-corrupt-rate", "0.0002", "--fault-drop-rate", "0.0001")
    csv = tmp_path / "faults.csv"
    summary = record(s.url, csv, 2.0)
    emitted = s.stop()
    seq, undelivered = check_against_emitted(csv, emitted)
    damaged = {f.fate for f in emitted.lost if f.kind == "DATA"}
    assert damaged == {"corrupted", "dropped"}, "the faults hit some DATA frames"
    assert summary.lost_samples == undelivered > 0
    assert summary.crc_errors > 0 and summary.bytes_discarded > 0
    gap_notes = [n for n in read_recording(csv).notes if n.startswith("gap:")]
    assert len(gap_notes) == summary.gaps and sum(int(n.split()[1]) for n in gap_notes) == undelivered


def test_a_disconnect_is_marked_counted_exactly_and_the_recording_continues(sim, tmp_path):
    s = sim("--fault-disconnect-after", "3", "--fault-reconnect-delay", "2")
    csv = tmp_path / "disconnect.csv"
    summary = record(s.url, csv, 2.5)
    emitted = s.stop()
    seq, undelivered = check_against_emitted(csv, emitted)
    notes = read_recording(csv).notes
    gap_notes = [n for n in notes if n.startswith("gap:")]
    assert summary.reconnects == 1 and len(gap_notes) == 1
    assert gap_notes[0].startswith(f"gap: {undelivered} samples lost after sequence ")
    assert gap_notes[0].endswith("(counted from the sample index; disconnect)")
    assert summary.lost_samples == undelivered > 0
    link = [n for n in notes if n.startswith(("disconnected", "reconnected", "gap"))]
    assert link[0].startswith("disconnected after sequence") and link[1].startswith("reconnected after") and link[2] == gap_notes[0]
    assert seq[-1] > int(gap_notes[0].split()[6]) + undelivered + 1000, "well over a second recorded after it"


def test_in_process_sim_url_records_exactly(tmp_path):
    register_url_handler()
    url = "sim://?seed=3&speed=10"
    csv = tmp_path / "simurl.csv"
    with open_driver(url, calibration=SIM) as drv:
        summary = Recorder(drv, [CsvSink(csv, {})]).record(StopConditions(duration_s=1.0))
        emitted = find_session(url).emitted_log()
    seq, undelivered = check_against_emitted(csv, emitted)
    assert summary.lost_samples == undelivered == 0 and len(seq) > 3000


def test_tcp_sim_records_exactly(sim, tmp_path):
    s = sim("--tcp", "0")
    assert s.url.startswith("socket://127.0.0.1:")
    csv = tmp_path / "tcp.csv"
    summary = record(s.url, csv, 1.0)
    seq, undelivered = check_against_emitted(csv, s.stop())
    assert summary.lost_samples == undelivered == 0 and len(seq) > 3000


def test_driving_options_reach_the_simulator_and_the_recording_stops_at_set_complete(tmp_path, capsys):
    register_url_handler()
    url = "sim://?seed=2&speed=20"
    csv = tmp_path / "set.csv"
    assert main(["record", url, "--seconds", "60", "--out", str(csv), "--joint", "knee", "--side", "right", "--json",
                 "--mode", "con/con", "--rom-deg", "0", "90", "--velocity-dps", "120", "--repetitions", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    seq, undelivered = check_against_emitted(csv, find_session(url).emitted_log())
    notes = read_recording(csv).notes
    assert summary["stopped_by"] == "set complete" and undelivered == 0
    assert [n.split(" at ")[0] for n in notes if n.startswith("event:")] == [
        "event: LIMIT_REACHED -1", "event: LIMIT_REACHED 1", "event: LIMIT_REACHED -1", "event: LIMIT_REACHED 1",
        "event: SET_COMPLETE 2"]
    # 2 movements each way over 90 deg at 120 deg/s: 3 s of the 60 asked for, plus the servo's ramps
    assert 3000 < len(seq) < 6000


def test_a_lost_start_ack_is_retried_and_the_recording_is_exact(tmp_path):
    # Seed 12 at this corrupt rate corrupts START's ACK; the device streams regardless.
    register_url_handler()
    url = "sim://?fault_corrupt_rate=0.003&seed=12&speed=10"
    csv = tmp_path / "start-ack.csv"
    with open_driver(url, calibration=SIM) as drv:
        summary = Recorder(drv, [CsvSink(csv, {})]).record(StopConditions(duration_s=0.3))
        session = find_session(url)
        lost_acks = [f for f in session.runner.fault_log.frames if f.kind == "ACK" and f.fate == "corrupted"]
        emitted = session.emitted_log()
    assert lost_acks, "the scenario must lose an ACK (START's)"
    assert summary.samples > 500 and summary.stopped_by == "duration"
    rec = read_recording(csv)
    last = emitted.run(len(emitted.sample_rates_hz) - 1)  # the run of the START that was acknowledged
    at = np.searchsorted(last["sample_index"], rec.extra["sequence"])
    np.testing.assert_array_equal(rec.torque_nm, as_written(SIM.torque.apply(last["torque"][at])))


@pytest.mark.parametrize("seed", [17, 25, 40, 41, 42, 43])
def test_losses_at_the_very_end_are_reported(seed, tmp_path):
    # Corrupted DATA just before STOP's ACK has no later index jump to count it from.
    register_url_handler()
    url = f"sim://?fault_corrupt_rate=0.001&seed={seed}&speed=10"
    csv = tmp_path / "tail.csv"
    with open_driver(url, calibration=SIM) as drv:
        summary = Recorder(drv, [CsvSink(csv, {})]).record(StopConditions(duration_s=0.3))
        emitted = find_session(url).emitted_log()
    seq, undelivered = check_against_emitted(csv, emitted)
    assert summary.lost_samples == undelivered
