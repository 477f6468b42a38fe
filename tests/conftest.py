"""Fixtures shared by every test package: the real recordings of ``../shared/data/real`` and files built from them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

#: The real vendor exports (``../shared/data/real`` next to the project); tests using them skip when absent.
REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
HUMAC_RIGHT_60 = "S01 10_59_09 AM 60 5 Right 1.csv"


def real_file(*parts: str) -> Path:
    """A file of the real recordings, or a skip when the folder is absent."""
    path = REAL.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def mirrored_humac(right: Path, folder: Path) -> Path:
    """A left-side HUMAC export made from a right-side one, as the left exports come out of the device.

    In left-side exports the ``Speed`` column's sign is opposite to the change of ``Position``
    (issue 10: correlation -0.99 over the file), while position (degrees of knee flexion),
    torque (unsigned), status and half-repetition numbers read as on the right. So the
    copy negates every speed and names the file ``... Left <set>.csv``.
    """
    with open(right, newline="") as f:
        rows = list(csv.reader(f))
    speed = next(i for i, h in enumerate(rows[0]) if h.lower().startswith(("speed", "velocity")))
    for row in rows[1:]:
        text = row[speed].strip()
        if text and float(text) != 0.0:
            row[speed] = text[1:] if text.startswith("-") else "-" + text
    path = folder / right.name.replace(" Right ", " Left ")
    with open(path, "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


@pytest.fixture
def left_humac(tmp_path: Path) -> Path:
    """``S01 10_59_09 AM 60 5 Left 1.csv``: the right-side 60 deg/s export mirrored as a left-side one."""
    return mirrored_humac(real_file("humac_csv", HUMAC_RIGHT_60), tmp_path)


#: liblsl's configuration for the tests: streams resolved and sent on 127.0.0.1 only (no multicast or broadcast
#: leaves the machine), IPv4 only, and a session id of the test run's own so streams of other runs stay invisible.
LSL_LOOPBACK_CONFIG = """[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
ListenAddress = 127.0.0.1
MachineAddresses = {{127.0.0.1}}
[lab]
KnownPeers = {{127.0.0.1}}
SessionID = {session}
[log]
level = -3
"""


@pytest.fixture(scope="session")
def lsl_loopback(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loopback-only liblsl configuration, set as ``LSLAPICFG`` for this process (before liblsl first reads
    it: only the LSL tests load it) and for the ``isokin`` subprocesses the tests start."""
    import os
    import secrets

    path = tmp_path_factory.mktemp("lsl") / "lsl_api.cfg"
    path.write_text(LSL_LOOPBACK_CONFIG.format(session=f"isokin-tests-{os.getpid()}-{secrets.token_hex(4)}"))
    os.environ["LSLAPICFG"] = str(path)
    return path
