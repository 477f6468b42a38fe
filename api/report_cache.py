"""Finished report documents kept as the bytes sent, and the slots that bound report computations.

A session report (JSON, CSV, HTML, PDF) or a subject history is built from rows that change
rarely: the session, its subject, its trials and their stored samples, the subject's goals,
the lab's normative sets and the request's analysis parameters. :func:`cached_report` keys the
finished bytes by all of them (:mod:`api.report_keys`), so a repeated request costs a few
small queries and a lookup instead of comparing every trial and building the document again.

- A hit takes no compute slot; a miss takes one of :class:`ComputeSlots` to build.
- Concurrent requests for the same missing key build it once (single flight): the others
  wait for that result, asleep and without a slot.
- A result is stored only when the key read again after the build is unchanged (an edit,
  a new sample or a trial ending while it was built leaves it uncached), and a trial still
  recording is keyed by that state, so its report is never served once it has ended.
- :class:`ReportCache` is bounded in bytes and least-recently-used; one per process (the app's).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from api.errors import ServiceBusyError

__all__ = ["ComputeSlots", "ReportCache", "cached_report", "digest"]

#: Bytes counted for an entry besides its body (key, bookkeeping).
ENTRY_OVERHEAD_BYTES = 256


class ComputeSlots:
    """At most ``workers`` CPU-heavy computations (analyses, reports) at once; the others wait asleep.

    Parameters
    ----------
    workers
        Computations at once (``ISOKIN_ANALYSIS_WORKERS``).
    wait_s
        Longest wait for a slot, s (then :class:`~api.errors.ServiceBusyError`, a 503).
    """

    def __init__(self, workers: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(workers)
        self.workers = workers
        self.wait_s = wait_s

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold one slot for the block (waiting at most ``wait_s``)."""
        if not self._slots.acquire(timeout=self.wait_s):
            raise ServiceBusyError(f"every analysis slot stayed busy for {self.wait_s:g} s; try again in a moment")
        try:
            yield
        finally:
            self._slots.release()


def digest(key: Hashable) -> bytes:
    """A 128-bit digest of a key made of plain values (tuples, numbers, text, dates, frozen dataclasses): what
    the cache stores.

    The key is pickled without memo (``Pickler.fast``): with it, a value's bytes would depend on which of its
    equal strings happen to be one object, and equal keys could digest apart.
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(key)
    return hashlib.blake2b(buffer.getbuffer(), digest_size=16).digest()


@dataclass
class _Flight:
    """One build in progress; requests for the same key wait on ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    value: bytes | None = None
    error: BaseException | None = None


class ReportCache:
    """A thread-safe LRU of report bytes, bounded in bytes, with single-flight builds.

    Parameters
    ----------
    max_bytes
        Bytes kept at most (bodies plus :data:`ENTRY_OVERHEAD_BYTES` each); a body larger than a
        quarter of it is never stored.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._flights: dict[bytes, _Flight] = {}
        self._lock = threading.Lock()
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0
        self.builds = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size_bytes = 0

    def get_or_build(self, key: bytes, build: Callable[[], tuple[bytes, bool]]) -> bytes:
        """The bytes stored under ``key``, else ``build()``'s (run once for concurrent callers).

        ``build`` returns the bytes and whether they may be stored; its error reaches every
        caller waiting on it, and nothing is stored.
        """
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.value is not None
            return flight.value
        try:
            value, storable = build()
        except BaseException as err:
            flight.error = err
            raise
        else:
            flight.value = value
        finally:
            with self._lock:
                del self._flights[key]
                self.builds += 1
                if flight.error is None and storable:
                    self._put(key, flight.value or b"")
            flight.done.set()
        return value

    def _put(self, key: bytes, value: bytes) -> None:
        size = len(value) + ENTRY_OVERHEAD_BYTES
        if size > self.max_bytes // 4:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size_bytes -= len(old) + ENTRY_OVERHEAD_BYTES
        self._entries[key] = value
        self.size_bytes += size
        while self.size_bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size_bytes -= len(dropped) + ENTRY_OVERHEAD_BYTES


def cached_report(
    cache: ReportCache,
    slots: ComputeSlots,
    kind: Hashable,
    inputs: Callable[[], Hashable],
    build: Callable[[], bytes],
    *,
    compress: bool = False,
) -> bytes:
    """A report's bytes from ``cache``, or built in a compute slot and stored while its inputs held still.

    Parameters
    ----------
    kind
        What is built (route and format), part of the key.
    inputs
        Reads everything ``build`` depends on (cheap queries); called before and after a build.
    build
        Builds the bytes (CPU-heavy: runs in one of ``slots``).
    compress
        Keep and return the bytes gzip-compressed (for a client that accepts ``Content-Encoding: gzip``:
        a session report's JSON shrinks about 7 times, and is compressed once, not at every request).
    """
    key = digest((kind, compress, inputs()))

    def build_in_slot() -> tuple[bytes, bool]:
        with slots.hold():
            value = build()
            if compress:
                value = gzip.compress(value, compresslevel=6, mtime=0)
        return value, digest((kind, compress, inputs())) == key

    return cache.get_or_build(key, build_in_slot)
