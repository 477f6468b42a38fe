"""The device in real time over its transports: pty, TCP and the in-process sim:// URL.

The same disconnect scenario runs on each transport: the host streams, the device
drops its link, the host reopens the same path or URL, finds the same device still
streaming, and the samples missing from what it received are exactly those the
device logged as lost.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import serial

import simulators
from firmware_protocols import Ack, Data, FrameDecoder, FrameEncoder, Hello, Info, Start, Stop
from simulators.faults import FaultConfig
from simulators.pacing import DeviceClock
from simulators.session import SimSession, SimSettings
from simulators.transports import PtyEndpoint, TcpEndpoint
from simulators.urlhandler import find_session

SPEED = 5.0
FAULTS = FaultConfig(disconnect_after_s=1.0, reconnect_delay_s=0.5, seed=3)


def _pty(tmp_path: Path, settings: SimSettings) -> tuple[str, SimSession]:
    session = SimSession(settings, PtyEndpoint(link_path=str(tmp_path / "isokin-dev")))
    session.endpoint.link_up()  # the symlink exists before the loop starts
    session.start()
    return session.url, session


def _tcp(tmp_path: Path, settings: SimSettings) -> tuple[str, SimSession]:
    session = SimSession(settings, TcpEndpoint(0))
    session.start()
    return session.url, session


def _sim(tmp_path: Path, settings: SimSettings) -> tuple[str, None]:
    simulators.register_url_handler()
    url = f"sim://?seed={settings.seed}&speed={settings.speed:g}&fault_disconnect_after=1&fault_reconnect_delay=0.5&fault_drift_ppm=0"
    return url, None


class Host:
    def __init__(self, url: str) -> None:
        self.port = _open(url)
        self.encoder = FrameEncoder()
        self.decoder = FrameDecoder()
        self.messages: list[object] = []

    def send(self, *messages: object) -> None:
        self.port.write(b"".join(self.encoder.encode(m) for m in messages))  # type: ignore[arg-type]

    def pump(self, seconds: float) -> bool:
        """Read for ``seconds``; False when the link went down.

        Reads what is waiting (at least 1 byte): pyserial's ``read(n)`` discards the bytes
        it already has when the port fails before ``n`` arrive.
        """
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                chunk = self.port.read(max(1, self.port.in_waiting))
            except serial.SerialException:
                return False
            self.messages += [f.message for f in self.decoder.feed(chunk)]
        return True

    def pump_until(self, done: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        """Read until ``done()`` (True) or the timeout or a link failure (False)."""
        end = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > end or not self.pump(0.01):
                return False
        return True

    def close(self) -> None:
        self.port.close()


def _open(url: str, timeout_s: float = 5.0) -> serial.SerialBase:
    end = time.monotonic() + timeout_s
    while True:
        try:
            return serial.serial_for_url(url, timeout=0.02)
        except serial.SerialException:
            if time.monotonic() > end:
                raise
            time.sleep(0.02)


@pytest.mark.parametrize("transport", [_pty, _tcp, _sim], ids=["pty", "tcp", "sim"])
def test_disconnect_reconnect_loses_exactly_the_logged_samples(tmp_path: Path, transport: Callable) -> None:
    settings = SimSettings(speed=SPEED, seed=3, faults=FAULTS)
    url, session = transport(tmp_path, settings)
    before = Host(url)
    session = session or find_session(url)
    assert session is not None
    before.send(Hello(1), Start())
    assert not before.pump(3.0), "the device never dropped its link"
    before.close()
    after = Host(url)
    after.send(Hello(1))
    assert after.pump(0.2)
    sent_before_stop = len(after.messages)
    after.send(Stop())
    assert after.pump_until(lambda: any(isinstance(m, Ack) and m.acked_type == Stop.TYPE for m in after.messages))
    after.pump(0.05)  # DATA already on its way when STOP was sent may still arrive, before or after the ACK
    after.close()
    session.stop()
    infos = [m for h in (before, after) for m in h.messages if isinstance(m, Info)]
    assert [i.serial_number for i in infos] == ["SIM-3", "SIM-3"]
    stop_acks = [k for k, m in enumerate(after.messages) if isinstance(m, Ack) and m.acked_type == Stop.TYPE]
    assert len(stop_acks) == 1 and stop_acks[0] >= sent_before_stop  # after every DATA received before STOP
    first = [m for m in before.messages if isinstance(m, Data)]
    second = [m for m in after.messages if isinstance(m, Data)]
    assert first and second
    received = np.concatenate([d.first_sample + np.arange(len(d)) for d in first + second])
    assert np.all(np.diff(received) > 0)
    missing = np.setdiff1d(np.arange(received[-1] + 1), received)
    assert missing.size > 0 and missing[0] > first[-1].first_sample and missing[-1] < second[0].first_sample
    log = session.emitted_log()
    lost = np.flatnonzero(~log.columns["delivered"][: received[-1] + 1])
    assert np.array_equal(missing, lost)
    assert {f.fate for f in log.lost if f.count and f.first_sample <= received[-1]} == {"cut"}
    torque = np.concatenate([np.asarray(d.torque) for d in first + second])
    assert np.array_equal(torque, log.columns["torque"][received])


def test_pacing_follows_real_time_times_speed_without_accumulating_lag() -> None:
    simulators.register_url_handler()
    host = Host("sim://?seed=8&speed=10&rate=1000")
    start = time.monotonic()  # before START: the device's sample 0 can only come later
    host.send(Start())
    lags = []
    for _ in range(24):
        host.pump(0.05)
        elapsed = time.monotonic() - start
        data = [m for m in host.messages if isinstance(m, Data)]
        received = data[-1].first_sample + len(data[-1])
        lags.append(elapsed * 10 * 1000 - received)
        assert data[-1].timestamp_us == data[0].timestamp_us + data[-1].first_sample * 1000
    host.close()
    # samples arrive at 10 kHz, never ahead of the schedule; a stall of the machine may
    # delay them for a moment, but the best lag of the last 0.4 s is as small as that of the
    # first (a loop that slept a period per batch would fall further behind every second)
    early, late = min(lags[:8]), min(lags[-8:])
    assert min(lags) >= -10, lags
    assert late < 1500 and late - early < 1000, lags


def test_device_clock_scales_with_speed_and_drift() -> None:
    origin = time.monotonic() - 2.0
    clock = DeviceClock(speed=10.0, drift_ppm=500.0, origin=origin)
    assert clock.now_s() == pytest.approx(2.0 * 10.0 * 1.0005, abs=0.05)
    assert clock.monotonic_at(20.01) == pytest.approx(origin + 2.0, abs=1e-9)
    with pytest.raises(ValueError):
        DeviceClock(speed=0.0)


def test_pty_is_raw_and_reached_through_its_symlink(tmp_path: Path) -> None:
    url, session = _pty(tmp_path, SimSettings(seed=4))
    assert os.path.realpath(url).startswith("/dev/pts/")
    fd = os.open(url, os.O_RDWR | os.O_NOCTTY)
    try:
        enc, dec = FrameEncoder(), FrameDecoder()
        os.write(fd, enc.encode(Hello(1)))
        frames: list = []
        end = time.monotonic() + 2.0
        while not frames and time.monotonic() < end:
            frames += dec.feed(os.read(fd, 4096))
        assert isinstance(frames[0].message, Info) and dec.stats.bytes_discarded == 0
    finally:
        os.close(fd)
        session.stop()
    assert not os.path.lexists(url)


def test_tcp_serves_one_client_at_a_time_and_reports_a_busy_port() -> None:
    url, session = _tcp(Path("."), SimSettings())
    host = Host(url)
    try:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as intruder:
            assert intruder.recv(100) == b""  # closed by the device at once
        with pytest.raises(OSError, match="cannot listen on 127.0.0.1"):
            TcpEndpoint(port)
        host.send(Hello(1))
        host.pump(0.1)
        assert isinstance(host.messages[0], Info)
    finally:
        host.close()
        session.stop()


def test_sim_url_is_exclusive_times_out_and_unplugs_on_close() -> None:
    simulators.register_url_handler()
    url = "sim://?seed=12&protocol=ascii&rate=500"
    port = serial.serial_for_url(url, timeout=0.3)
    with pytest.raises(serial.SerialException, match="busy"):
        serial.serial_for_url(url)
    port.write(b"stop\n")
    time.sleep(0.05)
    port.reset_input_buffer()
    t0 = time.monotonic()
    assert port.read(10) == b"" and time.monotonic() - t0 >= 0.25
    assert port.in_waiting == 0
    port.write(b"start\n")
    time.sleep(0.1)
    assert port.in_waiting > 0
    assert port.read(port.in_waiting).startswith(b"0,")
    session = port.simulator
    port.close()
    assert session is find_session(url) and not session.running
    with pytest.raises(serial.SerialException, match="unknown option"):
        serial.serial_for_url("sim://?colour=red")


@pytest.mark.parametrize("transport", [_pty, _sim], ids=["pty", "sim"])
def test_corrupted_and_dropped_bytes_lose_exactly_the_logged_frames(tmp_path: Path, transport: Callable) -> None:
    settings = SimSettings(speed=SPEED, seed=21, faults=FaultConfig(corrupt_rate=3e-4, drop_rate=2e-4, seed=21))
    if transport is _sim:
        simulators.register_url_handler()
        url, session = "sim://?seed=21&speed=5&fault_corrupt_rate=0.0003&fault_drop_rate=0.0002", None
    else:
        url, session = transport(tmp_path, settings)
    host = Host(url)
    session = session or find_session(url)
    assert session is not None
    host.send(Hello(1), Start())
    assert host.pump(0.5)
    host.close()
    session.stop()
    data = [m for m in host.messages if isinstance(m, Data)]
    received = np.concatenate([d.first_sample + np.arange(len(d)) for d in data])
    log = session.emitted_log()
    lost = np.flatnonzero(~log.columns["delivered"][: received[-1] + 1])
    assert lost.size >= 20  # a few frames of 10 samples hit
    assert np.array_equal(np.setdiff1d(np.arange(received[-1] + 1), received), lost)
    assert {f.fate for f in log.lost if f.first_sample <= received[-1] and f.kind == "DATA"} <= {"corrupted", "dropped"}
