"""The stream of ADC samples behind one streaming run of the simulated device.

A :class:`SampleSource` turns the physiological model's sets (:func:`simulators.model.simulate_set`),
or a relaxed limb held still for weighing (:func:`simulators.model.simulate_hold`, PASSIVE mode),
into ADC counts (:mod:`simulators.adc`), one set at a time so an hour of streaming costs
the memory of one set. A finite source is one set (the configured repetitions, then
SET_COMPLETE); an endless one chains sets of :data:`CHAINED_REPETITIONS` repetitions
until the host stops it. It also finds the range-limit events (rising edges of the
AT_RANGE_LIMIT status bit) and joins the sets' ground truth into one
:class:`~simulators.truth.SetTruth` whose times count from the run's sample 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from firmware_protocols.messages import SampleStatus
from simulators.adc import overrange_status, quantise
from simulators.model import SetProtocol, SubjectProfile, simulate_hold, simulate_set
from simulators.truth import RepTruth, SetTruth

__all__ = ["CHAINED_REPETITIONS", "Chunk", "SampleSource", "chunk_seed"]

#: Repetitions per direction of each set of an endless run.
CHAINED_REPETITIONS = 5
_LIMIT = np.uint8(SampleStatus.AT_RANGE_LIMIT)


def chunk_seed(seed: int, chunk: int) -> int:
    """Seed of the ``chunk``-th set of a run started with ``seed`` (the same for every run)."""
    return int(np.random.SeedSequence((seed, chunk)).generate_state(1)[0])


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive samples of a run, in ADC counts.

    Attributes
    ----------
    first_sample
        Index of the first sample since START.
    torque, position, velocity
        int32 counts.
    status
        uint8 status bits per sample (AT_RANGE_LIMIT, OVERRANGE).
    limit_events
        ``(sample_index, +1 or -1)`` for each arrival at the + or - end of the range.
    """

    first_sample: int
    torque: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    status: np.ndarray
    limit_events: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.torque)


class SampleSource:
    """Samples of one run: one set (finite) or sets chained until stopped (endless).

    Parameters
    ----------
    profile
        The simulated subject.
    protocol
        The set to simulate; for an endless source its ``repetitions`` is replaced by
        :data:`CHAINED_REPETITIONS`.
    sample_rate_hz
        Sample rate, Hz.
    seed
        Seed of the run (each chained set gets :func:`chunk_seed`).
    endless
        Chain sets until the host stops the stream.
    keep
        Keep every generated sample (for the emitted-stream log); otherwise consumed
        sets are forgotten.
    hold_deg
        Instead of sets, the relaxed limb held still at this angle (deg), endlessly, in
        one-second chunks: PASSIVE mode with equal range limits (limb weighing). The
        protocol then gives only the joint, pattern and side.

    Raises
    ------
    ValueError
        When the model refuses the protocol (e.g. a velocity that cannot be held over
        the range); the first set is simulated at construction for that reason.
    """

    def __init__(
        self,
        profile: SubjectProfile,
        protocol: SetProtocol,
        *,
        sample_rate_hz: int,
        seed: int,
        endless: bool,
        keep: bool = True,
        hold_deg: float | None = None,
    ) -> None:
        if hold_deg is not None and not endless:
            raise ValueError("a passive hold runs until stopped: endless=True")
        self.hold_deg = hold_deg
        self.protocol = dataclasses.replace(protocol, repetitions=CHAINED_REPETITIONS) if endless else protocol
        self.profile = profile
        self.sample_rate_hz = sample_rate_hz
        self.seed = seed
        self.endless = endless
        self.keep = keep
        self._kept: list[Chunk] = []
        self._truths: list[tuple[int, SetTruth]] = []
        self._sets = 0
        self._generated = 0
        self._taken = 0
        self._current: Chunk | None = None
        self._offset = 0  # samples of _current already taken
        self._prev_limit: bool | None = None
        self._append_set()

    @property
    def remaining(self) -> int | None:
        """Samples left in a finite source (``None`` when endless)."""
        return None if self.endless else self._generated - self._taken

    @property
    def taken(self) -> int:
        """Samples handed out so far."""
        return self._taken

    def take(self, n: int) -> Chunk:
        """The next ``n`` samples (fewer only at the end of a finite source)."""
        parts: list[Chunk] = []
        want = n
        while want > 0:
            assert self._current is not None
            avail = len(self._current) - self._offset
            if avail == 0:
                if not self.endless:
                    break
                self._append_set()
                continue
            k = min(avail, want)
            parts.append(_slice(self._current, self._offset, self._offset + k))
            self._offset += k
            want -= k
        self._taken += n - want
        if len(parts) == 1:
            return parts[0]
        return _concat(parts, self._taken - (n - want))

    def truth(self) -> SetTruth:
        """Ground truth of the sets generated so far, reps renumbered and times from sample 0."""
        reps: list[RepTruth] = []
        for first_sample, truth in self._truths:
            offset_s = first_sample / self.sample_rate_hz
            for rep in truth.reps:
                reps.append(
                    dataclasses.replace(
                        rep,
                        index=len(reps),
                        start_s=rep.start_s + offset_s,
                        end_s=rep.end_s + offset_s,
                        load_range_start_s=rep.load_range_start_s + offset_s,
                        load_range_end_s=rep.load_range_end_s + offset_s,
                    )
                )
        return dataclasses.replace(self._truths[0][1], reps=tuple(reps))

    def kept(self, n: int) -> Chunk:
        """The first ``n`` samples of the run (needs ``keep=True``)."""
        if not self.keep:
            raise ValueError("this source was made with keep=False: its samples are not kept")
        return _slice(_concat(self._kept, 0), 0, n) if self._kept else _empty(0)

    def _append_set(self) -> None:
        if self.hold_deg is not None:
            self._append_hold(self.hold_deg)
            return
        sim = simulate_set(
            self.profile,
            self.protocol,
            sample_rate_hz=float(self.sample_rate_hz),
            seed=chunk_seed(self.seed, self._sets),
        )
        torque, t_clip = quantise(sim.torque_nm)
        position, p_clip = quantise(sim.position_deg)
        velocity, v_clip = quantise(sim.velocity_dps)
        status = (np.asarray(sim.status, dtype=np.uint8) & ~np.uint8(SampleStatus.OVERRANGE)) | overrange_status(
            t_clip, p_clip, v_clip
        )
        at_limit = (status & _LIMIT) != 0
        prev = at_limit[0] if self._prev_limit is None else self._prev_limit
        rising = np.flatnonzero(at_limit & ~np.concatenate(([prev], at_limit[:-1])))
        self._prev_limit = bool(at_limit[-1])
        mid = 0.5 * (float(np.min(sim.position_deg)) + float(np.max(sim.position_deg)))
        events = tuple(
            (self._generated + int(i), 1 if sim.position_deg[i] > mid else -1) for i in rising
        )
        self._add_chunk(Chunk(self._generated, torque, position, velocity, status, events), sim.truth)

    def _append_hold(self, angle_deg: float) -> None:
        p = self.protocol
        hold = simulate_hold(
            self.profile, p.joint, str(p.pattern), angle_deg=angle_deg, n_samples=self.sample_rate_hz,
            seed=chunk_seed(self.seed, self._sets),
        )
        (torque, t_clip), (position, p_clip), (velocity, v_clip) = (
            quantise(x) for x in (hold.torque_nm, hold.position_deg, hold.velocity_dps)
        )
        status = overrange_status(t_clip, p_clip, v_clip)
        truth = SetTruth(
            reps=(),
            gravity_torque_nm=hold.gravity_torque_nm,
            horizontal_angle_deg=hold.horizontal_angle_deg,
            body_mass_kg=self.profile.body_mass_kg,
            joint=p.joint,
            pattern=str(p.pattern),
            side=p.side,
            mode="passive",
        )
        self._add_chunk(Chunk(self._generated, torque, position, velocity, status, ()), truth)

    def _add_chunk(self, chunk: Chunk, truth: SetTruth) -> None:
        self._truths.append((self._generated, truth))
        self._generated += len(chunk)
        self._sets += 1
        self._current, self._offset = chunk, 0
        if self.keep:
            self._kept.append(chunk)


def _slice(chunk: Chunk, lo: int, hi: int) -> Chunk:
    first = chunk.first_sample + lo
    events = tuple(e for e in chunk.limit_events if first <= e[0] < chunk.first_sample + hi)
    return Chunk(first, chunk.torque[lo:hi], chunk.position[lo:hi], chunk.velocity[lo:hi], chunk.status[lo:hi], events)


def _concat(parts: list[Chunk], first_sample: int) -> Chunk:
    if not parts:
        return _empty(first_sample)
    return Chunk(
        parts[0].first_sample,
        np.concatenate([p.torque for p in parts]),
        np.concatenate([p.position for p in parts]),
        np.concatenate([p.velocity for p in parts]),
        np.concatenate([p.status for p in parts]),
        tuple(e for p in parts for e in p.limit_events),
    )


def _empty(first_sample: int) -> Chunk:
    z = np.zeros(0, dtype=np.int32)
    return Chunk(first_sample, z, z, z, np.zeros(0, dtype=np.uint8), ())
