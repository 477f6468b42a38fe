"""Seeded fault injection on the simulated device's outgoing byte stream, and the log of lost frames.

Faults are applied frame by frame (a binary frame, or one line in ASCII mode):

- **corruption**: each byte is XORed with a random non-zero value with probability
  ``corrupt_rate``;
- **drops**: each byte is removed with probability ``drop_rate``.

Each decision uses its own random stream spawned from ``seed`` and consumes a fixed
number of draws per byte, so the outcome depends only on the seed and the bytes sent,
not on how the stream was cut into calls. Every damaged frame is logged with its
sample range (:class:`LostFrame`), as are frames lost for other reasons (cut by a
simulated disconnect, or produced while no host was connected), so a test can
compare the host's loss report with what really happened.

Disconnects and clock drift are parameters of the pacing loop (:class:`FaultConfig`
carries them all so the command line and the ``sim://`` URL share one set).
The ASCII protocol has no checksum: a corrupted line may reach the host as a
sample with wrong values, so exact loss accounting needs the binary protocol.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulators.device import OutFrame

__all__ = ["FATES", "FaultConfig", "FaultInjector", "FaultLog", "LostFrame"]

#: Why a frame did not reach the host intact.
FATES = ("corrupted", "dropped", "cut", "undelivered")


@dataclass(frozen=True)
class FaultConfig:
    """Faults to inject, all reproducible from ``seed``.

    Attributes
    ----------
    corrupt_rate
        Probability (0..1) that each outgoing byte is XORed with a random non-zero value.
    drop_rate
        Probability (0..1) that each outgoing byte is dropped.
    disconnect_after_s
        Device seconds after streaming first starts at which the device drops its
        link, or ``None`` for never.
    reconnect_delay_s
        Device seconds the link stays down before the device offers it again.
    drift_ppm
        The device clock (timestamps and pacing) runs at ``1 + drift_ppm * 1e-6``
        times real time (times the speed factor).
    seed
        Seed of the random streams.
    """

    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    disconnect_after_s: float | None = None
    reconnect_delay_s: float = 1.0
    drift_ppm: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("corrupt_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        if self.disconnect_after_s is not None and not (math.isfinite(self.disconnect_after_s) and self.disconnect_after_s >= 0):
            raise ValueError(f"disconnect_after_s must be >= 0 seconds, got {self.disconnect_after_s!r}")
        if not (math.isfinite(self.reconnect_delay_s) and self.reconnect_delay_s >= 0):
            raise ValueError(f"reconnect_delay_s must be >= 0 seconds, got {self.reconnect_delay_s!r}")
        if not (math.isfinite(self.drift_ppm) and abs(self.drift_ppm) < 1e5):
            raise ValueError(f"drift_ppm must be a finite number of magnitude < 100000, got {self.drift_ppm!r}")

    @property
    def damages_bytes(self) -> bool:
        """True when corruption or drops are on."""
        return self.corrupt_rate > 0 or self.drop_rate > 0


@dataclass(frozen=True)
class LostFrame:
    """A frame that did not reach the host intact.

    Attributes
    ----------
    kind
        Message name (``DATA``, ``ACK``, ``EVENT``, ... or ``line`` in ASCII mode).
    run
        Streaming run (0 for the first START, +1 for each later START).
    first_sample, count
        Samples the frame carried (``count`` 0 for frames without samples).
    fate
        One of :data:`FATES`.
    bytes_affected
        Bytes corrupted or dropped (``fate`` corrupted/dropped), else the frame's length.
    """

    kind: str
    run: int
    first_sample: int
    count: int
    fate: str
    bytes_affected: int


class FaultLog:
    """Every frame lost or damaged on the way out, in the order they were sent."""

    def __init__(self) -> None:
        self.frames: list[LostFrame] = []
        self._sample_frames: set[tuple[int, int]] = set()

    def add(self, frame: OutFrame, fate: str, bytes_affected: int | None = None) -> None:
        """Log a lost frame; a frame with samples is logged once (its first fate wins)."""
        if fate not in FATES:
            raise ValueError(f"unknown fate {fate!r}; expected one of {', '.join(FATES)}")
        if frame.sample_count:
            key = (frame.run, frame.first_sample)
            if key in self._sample_frames:
                return
            self._sample_frames.add(key)
        n = len(frame.data) if bytes_affected is None else bytes_affected
        self.frames.append(LostFrame(frame.kind, frame.run, frame.first_sample, frame.sample_count, fate, n))

    def lost_samples(self, *, fates: Sequence[str] = FATES) -> int:
        """Samples carried by lost frames of the given fates."""
        return sum(f.count for f in self.frames if f.fate in fates)

    def lost_mask(self, run: int, n_samples: int) -> np.ndarray:
        """Boolean array over the first ``n_samples`` samples of ``run``: True where lost."""
        mask = np.zeros(n_samples, dtype=bool)
        for f in self.frames:
            if f.run == run and f.count:
                mask[f.first_sample : f.first_sample + f.count] = True
        return mask


class FaultInjector:
    """Apply seeded byte corruption and drops to outgoing frames and log the damaged ones.

    Parameters
    ----------
    corrupt_rate, drop_rate
        Per-byte probabilities (see :class:`FaultConfig`).
    seed
        Seed of the random streams.
    log
        Where damaged frames are recorded.

    Example
    -------
    >>> from simulators.device import OutFrame
    >>> inj = FaultInjector(corrupt_rate=0.0, drop_rate=0.0, seed=1, log=FaultLog())
    >>> inj.apply([OutFrame(b"abc", "line", 0, 0, 1)])
    [b'abc']
    """

    def __init__(self, *, corrupt_rate: float, drop_rate: float, seed: int, log: FaultLog) -> None:
        FaultConfig(corrupt_rate=corrupt_rate, drop_rate=drop_rate)  # validates the rates
        self.corrupt_rate = corrupt_rate
        self.drop_rate = drop_rate
        self.log = log
        corrupt_pick, corrupt_value, drop_pick = np.random.SeedSequence(seed).spawn(3)
        self._corrupt_pick = np.random.default_rng(corrupt_pick)
        self._corrupt_value = np.random.default_rng(corrupt_value)
        self._drop_pick = np.random.default_rng(drop_pick)

    def apply(self, frames: Sequence[OutFrame]) -> list[bytes]:
        """The bytes to send for each frame (never empty), after faults; damaged frames are logged.

        A frame with dropped bytes is logged as ``dropped`` (``bytes_affected`` counts
        its dropped and corrupted bytes), else one with corrupted bytes as ``corrupted``.
        """
        if not frames or (self.corrupt_rate == 0 and self.drop_rate == 0):
            return [f.data for f in frames]
        stream = np.frombuffer(b"".join(f.data for f in frames), dtype=np.uint8).copy()
        corrupt = self._corrupt_pick.random(stream.size) < self.corrupt_rate
        n_corrupt = int(corrupt.sum())
        if n_corrupt:
            # XOR values 1..255 from doubles: one draw each, whatever the call sizes
            stream[corrupt] ^= (1 + self._corrupt_value.random(n_corrupt) * 255).astype(np.uint8)
        drop = self._drop_pick.random(stream.size) < self.drop_rate
        bounds = np.cumsum([0] + [len(f.data) for f in frames])
        corrupt_per_frame = np.add.reduceat(corrupt, bounds[:-1])
        drop_per_frame = np.add.reduceat(drop, bounds[:-1])
        out: list[bytes] = []
        for k, frame in enumerate(frames):
            piece = stream[bounds[k] : bounds[k + 1]]
            n_corrupt, n_dropped = int(corrupt_per_frame[k]), int(drop_per_frame[k])
            if n_dropped:
                piece = piece[~drop[bounds[k] : bounds[k + 1]]]
                self.log.add(frame, "dropped", n_dropped + n_corrupt)
            elif n_corrupt:
                self.log.add(frame, "corrupted", n_corrupt)
            out.append(piece.tobytes())
        return out
