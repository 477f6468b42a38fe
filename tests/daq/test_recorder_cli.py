"""``isokin record`` and ``isokin ports``: options to CONFIGURE and metadata, summaries, one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from serial.tools import list_ports

from api.cli import main
from daq.calibration import save_profile
from daq.recording import read_recording
from firmware_protocols import Configure, ErrorCode, Mode


@pytest.fixture
def profile_file(profile, tmp_path):
    path = tmp_path / "unit.json"
    save_profile(profile, path)
    return str(path)


def test_record_writes_the_file_and_a_json_summary(make_device, profile_file, tmp_path, capsys):
    dev = make_device(autostream_hz=1000)
    out = tmp_path / "rec.csv"
    code = main(["record", dev.url, "--seconds", "0.4", "--out", str(out), "--calibration", profile_file,
                 "--joint", "knee", "--side", "left", "--body-mass-kg", "70", "--subject", "S01", "--json"])
    summary = json.loads(capsys.readouterr().out)
    rec = read_recording(out)
    assert code == 0
    assert summary["samples"] == len(rec) == dev.sent_samples
    assert (summary["lost_samples"], summary["stopped_by"]) == (0, "duration")
    assert {k: rec.metadata[k] for k in ("joint", "pattern", "side", "body_mass_kg", "subject")} == {
        "joint": "knee", "pattern": "flexion/extension", "side": "left", "body_mass_kg": "70.0", "subject": "S01"}


def test_driving_options_become_the_configure_message(make_device, profile_file, tmp_path, capsys):
    dev = make_device(autostream_hz=2000)
    code = main(["record", dev.url, "--seconds", "0.2", "--out", str(tmp_path / "r.csv"), "--calibration", profile_file,
                 "--rate", "2000", "--joint", "knee", "--mode", "con/ecc", "--group", "extension",
                 "--velocity-dps", "60/120", "--rom-deg", "5", "95", "--repetitions", "3"])
    text = capsys.readouterr().out
    assert code == 0
    assert dev.commands(Configure) == [Configure(2000, 0, Mode.CON_ECC, -1, 60.0, 120.0, 5.0, 95.0, 3)]
    assert "stopped by: duration" in text and "lost samples: 0" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/dev/ttyUSB9"], "cannot open /dev/ttyUSB9: No such file or directory"),
        (["nosuch://x"], "bad device URL 'nosuch://x': invalid URL, protocol 'nosuch' not known"),
        (["loop://", "--out", "/nonexistent-dir/r.csv"], "cannot write /nonexistent-dir/r.csv: folder"),
        (["loop://", "--mode", "con/ecc"], "--mode con/ecc needs --group, one of: flexion, extension"),
        (["loop://", "--calibration", "nope"], "unknown calibration profile 'nope'"),
    ],
)
def test_user_mistakes_end_with_one_line(argv, message, tmp_path, capsys):
    args = ["record", *argv, "--seconds", "1"]
    if "--out" not in argv:
        args += ["--out", str(tmp_path / "r.csv")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("isokin record: error: ") and message in err


def test_a_silent_device_is_a_timeout_and_a_refusal_names_the_reason(make_device, profile_file, tmp_path, capsys):
    silent = make_device(silent=True)
    assert main(["record", silent.url, "--seconds", "1", "--out", str(tmp_path / "a.csv")]) == 1
    assert f"no answer to HELLO from {silent.url}" in capsys.readouterr().err
    refusing = make_device(refuse={Configure.TYPE: ErrorCode.UNSUPPORTED_RATE})
    assert main(["record", refusing.url, "--seconds", "1", "--out", str(tmp_path / "b.csv"),
                 "--calibration", profile_file, "--rate", "3000"]) == 1
    assert f"{refusing.url} refused CONFIGURE: UNSUPPORTED_RATE" in capsys.readouterr().err


def test_an_unknown_model_without_calibration_is_asked_for_one(make_device, tmp_path, capsys):
    dev = make_device()
    assert main(["record", dev.url, "--seconds", "1", "--out", str(tmp_path / "r.csv")]) == 1
    assert "no shipped calibration for device model 'scripted': give --calibration" in capsys.readouterr().err


def test_ports_lists_what_pyserial_finds(capsys):
    assert main(["ports", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["device"] for p in listed] == sorted(p.device for p in list_ports.comports())
    assert main(["ports"]) == 0
    text = capsys.readouterr().out
    assert text.count("\n") == max(1, len(listed))


@pytest.mark.parametrize(("signum", "stopped_by"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "stop requested")])
def test_ctrl_c_or_sigterm_stop_cleanly_and_keep_the_file(make_device, profile_file, tmp_path, signum, stopped_by):
    dev = make_device(autostream_hz=1000)
    out = tmp_path / "r.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main(sys.argv[1:]))", "record", dev.url,
         "--seconds", "60", "--out", str(out), "--calibration", profile_file, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while (not out.exists() or out.read_text().count("\n") < 100) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    rec = read_recording(out)
    assert summary["stopped_by"] == stopped_by
    assert summary["samples"] == len(rec) == dev.sent_samples >= 100
    assert rec.notes[-1].startswith("clock: segment 0")  # the file was finished, not cut


def test_recording_nothing_is_an_error_that_suggests_the_protocol(make_device, profile_file, tmp_path, capsys):
    # A binary board streaming from power-up read as ASCII: bytes arrive, nothing decodes.
    dev = make_device()
    done = threading.Event()

    def babble() -> None:
        while not done.wait(0.01):
            dev.write(bytes(range(1, 10)) * 20)

    threading.Thread(target=babble, daemon=True).start()
    out = tmp_path / "wrong.csv"
    try:
        code = main(["record", dev.url, "--protocol", "ascii", "--seconds", "0.3", "--out", str(out),
                     "--calibration", profile_file])
    finally:
        done.set()
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("isokin record: error: recorded no samples")
    assert "none decoded as ascii" in lines[0] and "--protocol binary" in lines[0]
    assert out.exists()


def test_recording_nothing_from_a_silent_device_is_an_error(tmp_path, capsys):
    out = tmp_path / "silent.csv"
    code = main(["record", "sim://?seed=1", "--protocol", "ascii", "--seconds", "0.2", "--out", str(out),
                 "--calibration", "simulator"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "recorded no samples" in err and "nothing arrived" in err and out.exists()
