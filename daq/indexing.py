"""Continuous sample indices from a device's wrapping counter, and exact gap counts.

A device numbers samples from START with a 32-bit counter (DATA ``first_sample``,
an ASCII board's line counter). The host turns it into one int64 index that
keeps counting across wraps, re-STARTs and reconnects, so a loss is always a jump
of exactly the number of samples lost.
"""

from __future__ import annotations

__all__ = ["SampleIndexer"]


class SampleIndexer:
    """Place batches of samples on the continuous index and count the samples between them.

    Parameters
    ----------
    modulus
        Where the device counter wraps (2**32 for the binary protocol and ASCII counters).

    Example
    -------
    >>> ix = SampleIndexer()
    >>> ix.place(0, 10)      # first batch: indices 0..9, nothing missing
    (0, 0)
    >>> ix.place(15, 10)     # device samples 10..14 never arrived
    (15, 5)
    """

    def __init__(self, *, modulus: int = 1 << 32) -> None:
        self.modulus = modulus
        self.next_index = 0  #: index the next sample gets if nothing is lost
        self._device_next: int | None = 0

    @property
    def last_index(self) -> int:
        """Index of the newest placed sample (-1 before any)."""
        return self.next_index - 1

    def restart(self, device_first: int | None = 0) -> None:
        """The device counter restarts at ``device_first`` (a START), or at any value when ``None``
        (an ASCII board's free-running counter); the index continues without a gap."""
        self._device_next = device_first

    def place(self, device_first: int, count: int) -> tuple[int, int] | None:
        """Place ``count`` samples whose device counter starts at ``device_first``.

        Returns
        -------
        (first_index, missing)
            The index of the batch's first sample and how many samples were lost
            just before it; ``None`` when the counter went backward without a
            restart being announced (the device reset itself): call
            :meth:`resume_after` with a count derived from time.
        """
        if self._device_next is None:
            self._device_next = device_first
        jump = (device_first - self._device_next) % self.modulus
        if jump >= self.modulus // 2:
            return None
        first = self.next_index + jump
        self.next_index = first + count
        self._device_next = (device_first + count) % self.modulus
        return first, jump

    def resume_after(self, missing: int, device_first: int, count: int) -> int:
        """Continue after ``missing`` lost samples when the device counter restarted at ``device_first``."""
        first = self.next_index + missing
        self.next_index = first + count
        self._device_next = (device_first + count) % self.modulus
        return first
