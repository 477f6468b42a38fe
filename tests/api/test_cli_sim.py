"""``isokin sim`` as users run it: a subprocess that prints its path first and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import serial

from api.cli import main
from firmware_protocols import AsciiDecoder, Data, FrameDecoder, FrameEncoder, Hello, Info, Start, Stop
from simulators.emitted import load_emitted
from simulators.truth import SetTruth

_CLI = [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())", "sim"]


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*_CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _read_frames(port: serial.SerialBase, decoder: FrameDecoder, seconds: float) -> list:
    out: list = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out += [f.message for f in decoder.feed(port.read(max(1, port.in_waiting)))]
    return out


def test_pty_path_first_then_clean_exit_on_sigterm_with_logs(tmp_path: Path) -> None:
    link, emitted, truth = tmp_path / "dev", tmp_path / "emitted.npz", tmp_path / "truth.json"
    proc, first_line = _start("--pty", "--link", str(link), "--speed", "5", "--seed", "6",
                              "--emitted-log", str(emitted), "--truth-out", str(truth))  # fmt: skip
    try:
        assert first_line == str(link)
        assert os.path.realpath(link).startswith("/dev/pts/")
        port = serial.serial_for_url(first_line, timeout=0.02)
        enc, dec = FrameEncoder(), FrameDecoder()
        port.write(enc.encode(Hello(1)) + enc.encode(Start()))
        messages = _read_frames(port, dec, 0.4)
        port.write(enc.encode(Stop()))
        messages += _read_frames(port, dec, 0.1)
        port.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "isokin record " + str(link) in err and "Traceback" not in err
    assert not os.path.lexists(link)
    assert isinstance(messages[0], Info) and messages[0].serial_number == "SIM-6"
    data = [m for m in messages if isinstance(m, Data)]
    index = np.concatenate([d.first_sample + np.arange(len(d)) for d in data])
    log = load_emitted(emitted)
    assert len(log) == len(index) and log.lost_samples == 0
    assert np.array_equal(log.columns["torque"], np.concatenate([np.asarray(d.torque) for d in data]))
    assert np.array_equal(log.columns["timestamp_us"][[0, -1]], [data[0].timestamp_us, data[0].timestamp_us + index[-1] * 1000])
    assert SetTruth.from_json(truth).joint == "knee"


def test_tcp_ascii_runs_for_its_duration(tmp_path: Path) -> None:
    csv_log = tmp_path / "emitted.csv"
    proc, url = _start("--tcp", "0", "--protocol", "ascii", "--rate", "500", "--duration", "1.0", "--emitted-log", str(csv_log))
    try:
        assert url.startswith("socket://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as sock:
            sock.settimeout(0.5)
            samples = AsciiDecoder().feed(sock.recv(65536) + sock.recv(65536))
    finally:
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert samples and all(s.counter is not None for s in samples)
    counters = [s.counter for s in samples]
    assert counters == list(range(counters[0], counters[0] + len(counters)))
    log = load_emitted(csv_log)
    assert log.sample_rates_hz == (500,) and len(log) > len(samples)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "1234"], "--rate 1234 Hz is not supported"),
        (["--profile", "/nonexistent/profile.json"], "/nonexistent/profile.json"),
        (["--emitted-log", "log.txt"], "use a .npz or .csv"),
        (["--fault-corrupt-rate", "2"], "corrupt_rate must be a probability"),
        (["--duration", "0.2", "--truth-out", "/nonexistent-dir/truth.json"], "--truth-out /nonexistent-dir/truth.json: folder"),
        (["--duration", "0.2", "--emitted-log", "/nonexistent-dir/e.npz"], "--emitted-log /nonexistent-dir/e.npz: folder"),
        (["--duration", "0.2", "--truth-out", "/tmp"], "--truth-out /tmp: it is a directory"),
    ],
)
def test_bad_options_end_with_one_clear_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--tcp", "0", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("isokin sim: error:") and message in err and "\n" not in err


def test_a_busy_tcp_port_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        assert main(["sim", "--tcp", str(taken.getsockname()[1])]) == 1
    err = capsys.readouterr().err.strip()
    assert "cannot listen on 127.0.0.1" in err and "\n" not in err
