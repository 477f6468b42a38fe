"""The log of the stream the simulated device emitted: every sample, and whether it reached the host.

An end-to-end test compares a recording with this log: each recorded sample must
equal the emitted sample of the same index after calibration, and the samples the
host reports lost must be exactly those whose frames the device damaged, dropped,
cut by a disconnect or could not deliver (the ``delivered`` flag is False for them).

Files (:func:`save_emitted`, :func:`load_emitted`):

- ``.npz``: arrays ``run, sample_index, timestamp_us, torque, position, velocity,
  status, delivered`` (one entry per sample), ``sample_rate_hz`` per run, and the lost
  frames as ``lost_kind, lost_run, lost_first_sample, lost_count, lost_fate,
  lost_bytes``.
- ``.csv``: ``# lost: kind=DATA run=0 first_sample=120 count=10 fate=corrupted bytes=1``
  lines, then the header ``run,sample_index,timestamp_us,torque,position,velocity,status,delivered``
  and one row per sample (counts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulators.device import EmittedRun
from simulators.faults import FaultLog, LostFrame

__all__ = ["COLUMNS", "EmittedLog", "build_emitted_log", "load_emitted", "save_emitted"]

COLUMNS = ("run", "sample_index", "timestamp_us", "torque", "position", "velocity", "status", "delivered")


@dataclass(frozen=True, eq=False)
class EmittedLog:
    """Every emitted sample (counts) with its delivery flag, and the lost frames.

    Attributes
    ----------
    columns
        ``name -> array`` for each of :data:`COLUMNS`.
    sample_rates_hz
        Sample rate (Hz) of each run.
    lost
        The frames that did not reach the host intact.
    """

    columns: dict[str, np.ndarray]
    sample_rates_hz: tuple[int, ...]
    lost: tuple[LostFrame, ...]

    def __len__(self) -> int:
        return len(self.columns["sample_index"])

    def run(self, run: int) -> dict[str, np.ndarray]:
        """The columns of one run's samples."""
        keep = self.columns["run"] == run
        return {name: col[keep] for name, col in self.columns.items()}

    @property
    def lost_samples(self) -> int:
        """Samples not delivered intact."""
        return int(np.count_nonzero(~self.columns["delivered"]))


def build_emitted_log(runs: list[EmittedRun], fault_log: FaultLog) -> EmittedLog:
    """Join the device's emitted runs with the faults that hit them."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}
    for r in runs:
        n = len(r.sample_index)
        parts["run"].append(np.full(n, r.run, dtype=np.int32))
        parts["sample_index"].append(r.sample_index.astype(np.int64))
        parts["timestamp_us"].append(r.timestamp_us.astype(np.int64))
        parts["torque"].append(r.torque.astype(np.int32))
        parts["position"].append(r.position.astype(np.int32))
        parts["velocity"].append(r.velocity.astype(np.int32))
        parts["status"].append(r.status.astype(np.uint8))
        parts["delivered"].append(~fault_log.lost_mask(r.run, n))
    dtypes = {"run": np.int32, "sample_index": np.int64, "timestamp_us": np.int64, "status": np.uint8, "delivered": bool}
    columns = {
        name: np.concatenate(p) if p else np.zeros(0, dtype=dtypes.get(name, np.int32)) for name, p in parts.items()
    }
    return EmittedLog(columns, tuple(r.sample_rate_hz for r in runs), tuple(fault_log.frames))


def save_emitted(path: str | os.PathLike[str], log: EmittedLog) -> None:
    """Write the log as ``.npz`` or ``.csv`` (chosen by the file name's suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        lost = log.lost
        arrays: dict[str, Any] = dict(
            log.columns,
            sample_rate_hz=np.asarray(log.sample_rates_hz, dtype=np.int64),
            lost_kind=np.asarray([f.kind for f in lost], dtype=str),
            lost_run=np.asarray([f.run for f in lost], dtype=np.int64),
            lost_first_sample=np.asarray([f.first_sample for f in lost], dtype=np.int64),
            lost_count=np.asarray([f.count for f in lost], dtype=np.int64),
            lost_fate=np.asarray([f.fate for f in lost], dtype=str),
            lost_bytes=np.asarray([f.bytes_affected for f in lost], dtype=np.int64),
        )
        np.savez_compressed(path, **arrays)
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(f"# sample_rate_hz: {' '.join(map(str, log.sample_rates_hz))}\n")
            for f in log.lost:
                fh.write(
                    f"# lost: kind={f.kind} run={f.run} first_sample={f.first_sample} "
                    f"count={f.count} fate={f.fate} bytes={f.bytes_affected}\n"
                )
            fh.write(",".join(COLUMNS) + "\n")
            table = np.column_stack([log.columns[name].astype(np.int64) for name in COLUMNS])
            np.savetxt(fh, table, fmt="%d", delimiter=",")
    else:
        raise ValueError(f"emitted log {path}: use a .npz or .csv file name")


def load_emitted(path: str | os.PathLike[str]) -> EmittedLog:
    """Read a log written by :func:`save_emitted`."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        with np.load(path) as data:
            columns = {name: data[name] for name in COLUMNS}
            rates = tuple(int(r) for r in data["sample_rate_hz"])
            lost = tuple(
                LostFrame(str(k), int(r), int(f), int(c), str(fa), int(b))
                for k, r, f, c, fa, b in zip(
                    data["lost_kind"], data["lost_run"], data["lost_first_sample"],
                    data["lost_count"], data["lost_fate"], data["lost_bytes"],
                )
            )
        return EmittedLog(columns, rates, lost)
    lost_list: list[LostFrame] = []
    csv_rates: tuple[int, ...] = ()
    header_lines = 1
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            header_lines += 1
            key, _, value = line[1:].strip().partition(": ")
            if key == "sample_rate_hz":
                csv_rates = tuple(int(v) for v in value.split())
            elif key == "lost":
                f = dict(item.split("=", 1) for item in value.split())
                lost_list.append(
                    LostFrame(f["kind"], int(f["run"]), int(f["first_sample"]), int(f["count"]), f["fate"], int(f["bytes"]))
                )
    table = np.loadtxt(path, delimiter=",", skiprows=header_lines, dtype=np.int64, ndmin=2)
    dtypes = {"run": np.int32, "sample_index": np.int64, "timestamp_us": np.int64, "status": np.uint8, "delivered": bool}
    columns = {name: table[:, k].astype(dtypes.get(name, np.int32)) for k, name in enumerate(COLUMNS)}
    return EmittedLog(columns, csv_rates, tuple(lost_list))
