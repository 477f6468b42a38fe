"""The packed sample chunk: one int64 stream per column, byte-shuffled, one deflate stream. Lossless by construction.

A packed chunk (layouts 3 and 4 of :data:`api.storage.samples.LAYOUTS`) holds the columns of
a structured row array. Every column becomes ``n`` int64 values (one per sample) from which
decoding gives back the column's exact bits, whatever they are (NaN payloads, -0.0 and
infinities included), by one of four codecs:

``INT_DELTA`` (integer columns: status bits, sample index, device clock)
    the first value, then the differences from one sample to the next, in int64 arithmetic
    modulo 2**64 (exactly invertible).
``SCALED`` (calibrated channels: torque, position, velocity)
    ``value = counts * gain + offset``, the very float64 expression of
    :meth:`daq.calibration.ChannelCalibration.apply`, with the integer ``counts`` stored as
    ``INT_DELTA`` and ``gain``/``offset`` in the header. Chosen only when recomputing every
    value from its counts gives the stored value bit for bit (checked on every chunk written);
    the encoder is told the calibration's gain and offset (``scales``).
``LINEAR`` (the time axis)
    a prediction ``(ref - b) / s + a`` from an integer column ``ref`` (the device clock in us,
    or the sample index), the recorder's own formula for ``time_s``, plus each value's residual:
    its float64 bits minus the prediction's bits (int64, modulo 2**64). Every residual is
    stored, so the prediction only has to be close, never exact.
``RAW``
    the float64 bits themselves (any other float column).

The ``n x columns`` int64 matrix is byte-shuffled (byte 0 of every value, then byte 1...:
the high bytes of small differences and residuals are runs of 0x00 or 0xFF) and deflated as
one zlib stream. Layout: ``<BI`` (codec version 1, samples ``n``), one codec byte per column,
the codecs' parameters, then the zlib data. Decoding works on many chunks at once
(:func:`decode_chunks`: per chunk only the header and the inflate; the arithmetic runs once
per column over them all). A chunk whose header is cut short, whose codec or reference is
unknown, whose data does not inflate to exactly ``8 x n x columns`` bytes or carries bytes
after its end is a :class:`CorruptChunkError`, never wrong samples.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["CorruptChunkError", "Scale", "decode_chunks", "encode_columns"]

#: A calibrated column's ``(gain, offset)``: ``value = counts * gain + offset``.
Scale = tuple[float, float]

_VERSION = 1
_HEAD = struct.Struct("<BI")
_INT_DELTA, _SCALED, _LINEAR, _RAW = 1, 2, 3, 4
#: Each codec's parameters: INT_DELTA first value; SCALED gain, offset, first count; LINEAR a, b, s, reference column.
_PARAMS = {_INT_DELTA: ("i8",), _SCALED: ("f8", "f8", "i8"), _LINEAR: ("f8", "i8", "f8", "u1"), _RAW: ()}
#: Bytes a stored value may take (0: every value is 0, nothing stored); a column byte is ``codec | width << 4``.
_WIDTHS = (0, 1, 2, 4, 8)
#: Largest |counts| of a SCALED column: float64 holds every integer up to 2**53 exactly.
_MAX_COUNTS = 2**31
#: zlib level: 6 (the default) is within a few % of 9 in size at a fraction of its time on recorded chunks.
_LEVEL = 6


class CorruptChunkError(ValueError):
    """A chunk that cannot be decoded to exactly its samples (damaged, or not written by isokin).

    ``place`` is the chunk's place in the sequence being decoded, when known.
    """

    def __init__(self, message: str, place: int | None = None) -> None:
        super().__init__(message)
        self.place = place


def encode_columns(columns: Mapping[str, np.ndarray], dtype: np.dtype, scales: Mapping[str, Scale] | None = None) -> bytes:
    """Pack the columns of ``dtype`` (every field present, equal lengths) into one chunk's bytes.

    ``scales`` gives the calibration (gain, offset) of float columns that are calibrated
    counts; a column whose values do not all come back bit for bit from it is stored otherwise.
    """
    names = list(dtype.names or ())
    n = len(columns[names[0]])
    ints = {name: np.asarray(columns[name]).astype(np.int64) for name in names if dtype[name].kind in "iu"}
    signature = bytearray()
    params: list[float | int] = []
    stored: list[np.ndarray] = []
    for name in names:
        if name in ints:
            codec = _INT_DELTA
            params.append(int(ints[name][0]) if n else 0)
            values = _delta(ints[name])
        else:
            floats = np.ascontiguousarray(columns[name], dtype="<f8")
            scale = (scales or {}).get(name)
            counts = _counts(floats, scale) if scale is not None else None
            linear = _linear(floats, names, ints) if counts is None and name == "time_s" else None
            if scale is not None and counts is not None:
                codec = _SCALED
                params += [*scale, int(counts[0]) if n else 0]
                values = _delta(counts)
            elif linear is not None:
                codec = _LINEAR
                params += linear[0]
                values = linear[1]
            else:
                codec, values = _RAW, floats.view("<i8")
        width, narrowed = _narrow(values) if codec != _RAW else (8, values)
        signature.append(codec | width << 4)
        stored.append(narrowed.view(np.uint8).reshape(n, width))
    layout = _params_dtype(bytes(signature))
    assert layout is not None
    head = _HEAD.pack(_VERSION, n) + bytes(signature) + (np.array(tuple(params), dtype=layout).tobytes() if params else b"")
    rows = np.concatenate(stored, axis=1) if stored else np.empty((n, 0), dtype=np.uint8)
    return head + zlib.compress(np.ascontiguousarray(rows.T).tobytes(), _LEVEL)


def decode_chunks(chunks: Sequence[bytes], dtype: np.dtype, expected: Sequence[int] | None = None) -> np.ndarray:
    """The rows of ``dtype`` packed in ``chunks`` by :func:`encode_columns`, in order, as one array.

    ``expected``, when given, is how many rows each chunk must hold.

    Chunks packed alike (same codecs and widths) are decoded together: per chunk only its
    header is read and its data inflated; the arithmetic runs once per column.

    Raises
    ------
    CorruptChunkError
        When a chunk's header, codecs, deflate stream or length do not hold together, or
        it holds other than ``expected`` rows (``place`` says which chunk).
    """
    names = list(dtype.names or ())
    counts: list[int] = []
    groups: dict[bytes, list[int]] = {}  # signature -> places of the chunks packed with it
    planes: list[np.ndarray] = []
    params: list[bytes] = []
    for place, data in enumerate(chunks):
        try:
            version, n = _HEAD.unpack_from(data, 0)
            if version != _VERSION:
                raise CorruptChunkError(f"unknown packed-chunk version {version}")
            if expected is not None and n != expected[place]:
                raise CorruptChunkError(f"it holds {n} samples, the chunk says {expected[place]}")
            start = _HEAD.size + len(names)
            signature = bytes(data[_HEAD.size : start])
            layout = _params_dtype(signature) if len(signature) == len(names) else None
            if layout is None:
                raise CorruptChunkError(f"column codecs {list(signature)} are not {len(names)} known codecs")
            end = start + layout.itemsize
            if len(data) < end:
                raise CorruptChunkError("header cut short")
            row_bytes = _row_bytes(signature)
            body = _inflate(data[end:], n * row_bytes)
        except (struct.error, CorruptChunkError) as err:
            raise CorruptChunkError(f"{err} ({len(data)} bytes)", place) from err
        groups.setdefault(signature, []).append(place)
        params.append(data[start:end])
        counts.append(n)
        planes.append(np.frombuffer(body, dtype=np.uint8).reshape(row_bytes, n).T)
    if len(groups) == 1:
        signature = next(iter(groups))
        return _decode_group(planes, counts, signature, b"".join(params), dtype)
    rows = np.empty(sum(counts), dtype=dtype)
    for signature, places in groups.items():
        mask = np.zeros(len(counts), dtype=bool)
        mask[places] = True
        part = [planes[j] for j in places]
        rows[np.repeat(mask, counts)] = _decode_group(
            part, [counts[j] for j in places], signature, b"".join(params[j] for j in places), dtype
        )
    return rows


def _decode_group(
    planes: list[np.ndarray], counts: list[int], signature: bytes, params: bytes, dtype: np.dtype
) -> np.ndarray:
    """Rows of chunks packed alike: ``planes`` their unshuffled bytes (sample x byte), ``params`` their parameters."""
    names = list(dtype.names or ())
    total = sum(counts)
    rows = np.empty(total, dtype=dtype)
    matrix = np.concatenate(planes, out=np.empty((total, _row_bytes(signature)), dtype=np.uint8))
    layout = _params_dtype(signature)
    assert layout is not None
    table = np.frombuffer(params, dtype=layout)
    starts = np.cumsum([0, *counts[:-1]])
    stored: list[np.ndarray] = []
    offset = 0
    for column in signature:
        width = column >> 4
        if width:
            stored.append(np.ascontiguousarray(matrix[:, offset : offset + width]).view(f"<i{width}")[:, 0].astype(np.int64))
        else:
            stored.append(np.zeros(total, dtype=np.int64))
        offset += width
    for k, column in enumerate(signature):
        codec = column & 15
        if codec == _INT_DELTA:
            rows[names[k]] = _undelta(stored[k], table[f"c{k}_0"], counts, starts)
        elif codec == _SCALED:
            gain, offset_value = _per_sample(table[f"c{k}_0"], counts), _per_sample(table[f"c{k}_1"], counts)
            rows[names[k]] = _undelta(stored[k], table[f"c{k}_2"], counts, starts) * gain + offset_value
        elif codec == _RAW:
            rows[names[k]] = stored[k].view("<f8")
    for k, column in enumerate(signature):  # after the integer column each refers to
        if column & 15 != _LINEAR:
            continue
        refs = np.unique(table[f"c{k}_3"])
        if any(int(r) >= len(names) or dtype[names[int(r)]].kind not in "iu" for r in refs):
            raise CorruptChunkError(f"column {names[k]}: its reference column is not an integer column")
        reference = rows[names[int(refs[0])]].astype(np.int64)
        if len(refs) > 1:
            ref = np.repeat(table[f"c{k}_3"], counts)
            for r in refs[1:]:
                pick = ref == r
                reference[pick] = rows[names[int(r)]][pick]
        a, b, s = (_per_sample(table[f"c{k}_{j}"], counts) for j in range(3))
        with np.errstate(all="ignore"):
            predicted = (reference - b) / s + a
        rows[names[k]] = (predicted.view(np.int64) + stored[k]).view("<f8")
    return rows


def _row_bytes(signature: bytes) -> int:
    return sum(column >> 4 for column in signature)


def _per_sample(values: np.ndarray, counts: list[int]) -> np.ndarray | float | int:
    """A chunk parameter for every sample (one number when every chunk has the same)."""
    if len(values) and (values == values[0]).all():
        return float(values[0]) if values.dtype.kind == "f" else int(values[0])
    return np.repeat(values, counts)


_DTYPES: dict[bytes, np.dtype | None] = {}


def _params_dtype(signature: bytes) -> np.dtype | None:
    """The packed record of a chunk's codec parameters (field ``c<column>_<j>``); None when a column byte is unknown."""
    found = _DTYPES.get(signature, False)
    if found is False:
        found = None
        if all(c & 15 in _PARAMS and c >> 4 in _WIDTHS and (c & 15 != _RAW or c >> 4 == 8) for c in signature):
            found = np.dtype([(f"c{k}_{j}", "<" + t) for k, c in enumerate(signature) for j, t in enumerate(_PARAMS[c & 15])])
        if len(_DTYPES) < 1024:
            _DTYPES[signature] = found
    return found  # type: ignore[return-value]


def _delta(values: np.ndarray) -> np.ndarray:
    """0, then the differences from one value to the next (int64, modulo 2**64); the first value goes in the header."""
    out = np.zeros(len(values), dtype=np.int64)
    if len(values):
        np.subtract(values[1:], values[:-1], out=out[1:])
    return out


def _undelta(stored: np.ndarray, firsts: np.ndarray, counts: list[int], starts: np.ndarray) -> np.ndarray:
    """Each chunk's first value plus the running sum of its differences (int64, modulo 2**64)."""
    sums = np.cumsum(stored)
    before = np.concatenate([[0], sums[starts[1:] - 1]]) if len(counts) > 1 else np.zeros(1, dtype=np.int64)
    with np.errstate(over="ignore"):
        return sums + np.repeat(firsts.astype(np.int64) - before, counts)


def _narrow(values: np.ndarray) -> tuple[int, np.ndarray]:
    """The narrowest width (0, 1, 2, 4, 8 bytes) holding every value, and the values in it (little-endian)."""
    if len(values) == 0 or not values.any():
        return 0, np.zeros((len(values), 0), dtype=np.uint8)
    lo, hi = int(values.min()), int(values.max())
    for width in (1, 2, 4):
        info = np.iinfo(f"i{width}")
        if info.min <= lo and hi <= info.max:
            return width, values.astype(f"<i{width}")
    return 8, values.astype("<i8")


def _counts(values: np.ndarray, scale: Scale) -> np.ndarray | None:
    """The integer counts that give back every value bit for bit as ``counts * gain + offset``, else None."""
    gain, offset = scale
    if not (np.isfinite(gain) and np.isfinite(offset) and gain != 0) or not np.isfinite(values).all():
        return None
    with np.errstate(all="ignore"):
        estimate = np.rint((values - offset) / gain)
    if len(estimate) and not float(np.abs(estimate).max()) <= _MAX_COUNTS:
        return None
    counts = estimate.astype(np.int64)
    if not np.array_equal((counts * gain + offset).view(np.int64), values.view(np.int64)):
        return None
    return counts


def _linear(values: np.ndarray, names: list[str], ints: Mapping[str, np.ndarray]) -> tuple[list[float | int], np.ndarray] | None:
    """``time_s`` predicted from the device clock (us) or the sample index: the parameters and the residuals.

    None when neither gives residuals smaller than the values themselves would be (or no time runs forward).
    """
    n = len(values)
    if n < 2 or not np.isfinite(values).all():
        return None
    clock = ints.get("device_time_us")
    if clock is not None and int(clock.min()) >= 0:
        ref, s = names.index("device_time_us"), 1e6
    elif "sequence" in ints:
        ref = names.index("sequence")
        span_s = float(values[-1] - values[0])
        span = float(ints["sequence"][-1] - ints["sequence"][0])
        if not span_s > 0 or not span > 0:
            return None
        s = float(np.rint(span / span_s)) or span / span_s
    else:
        return None
    x = ints[names[ref]]
    best: tuple[int, list[float | int], np.ndarray] | None = None
    # the recorder's own origin (a stretch starting at 0 s), then the chunk's first sample
    for a, b in ((0.0, int(x[0]) - int(np.rint(values[0] * s))), (float(values[0]), int(x[0]))):
        if not -(2**63) <= b < 2**63:
            continue
        with np.errstate(all="ignore"):
            predicted = (x - b) / s + a
        residual = values.view(np.int64) - predicted.view(np.int64)
        size = int(np.abs(residual).max()) if n else 0
        if best is None or size < best[0]:
            best = (size, [a, b, s, ref], residual)
    return (best[1], best[2]) if best is not None and best[0] < 2**32 else None


def _inflate(body: bytes, size: int) -> bytes:
    """The deflate stream ``body``, which must inflate to exactly ``size`` bytes and end there."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, size + 1)
    except zlib.error as err:
        raise CorruptChunkError(f"data does not inflate: {err}") from err
    if len(out) != size or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise CorruptChunkError(f"data inflates to {len(out)}{'' if inflater.eof else '+'} bytes, its header says {size}")
    return out
