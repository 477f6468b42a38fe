"""The packed sample chunk: each column as small integers, one record a sample. Lossless by construction.

A packed chunk (layouts 3 and 4 of :data:`api.storage.samples.LAYOUTS`) holds the columns of
a structured row array. Every column becomes ``n`` integers (one per sample) from which
decoding gives back the column's exact bits, whatever they are (NaN payloads, -0.0 and
infinities included), by one of four codecs:

``INT_DELTA`` (integer columns: status bits, sample index, device clock)
    the first value and the usual step in the header, then each difference from one sample
    to the next minus that step, in int64 arithmetic modulo 2**64 (exactly invertible): a
    sample index or a steady clock stores nothing but its header.
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

Each column's integers are stored in the narrowest of 0 (all zero: nothing stored), 2, 4 or
8 bytes that holds them (the format also reads 1; see :func:`_narrow`), and a sample's integers
side by side: the body is one record a sample, so the chunks of a trial packed alike (same
codecs and widths) are read as ONE numpy array, with no work per chunk but its header
(:func:`decode_chunks`). A chunk of
:data:`COMPRESS_FROM` samples or more (an import), or whose records take 16 bytes or more (a
float column stored raw), has its body deflated (zlib) when that makes it smaller.

Layout: ``<BBII`` (codec version 1, flags: 1 = deflated, samples ``n``, the CRC-32 of all that
follows), one byte a column (``codec | width << 4``), the codecs' parameters (little-endian),
the body. A chunk whose bytes do not match their CRC, whose header is cut short, whose codec
or width is unknown, whose body is not exactly ``n`` records (or does not inflate to them), or
whose time axis refers to a float column is a :class:`CorruptChunkError`, never wrong samples.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["COMPRESS_FROM", "CorruptChunkError", "Scale", "decode_chunks", "encode_columns"]

#: A calibrated column's ``(gain, offset)``: ``value = counts * gain + offset``.
Scale = tuple[float, float]
#: Chunks of this many samples or more are deflated (imports write 10,000; the recorder about 100 at a time).
COMPRESS_FROM = 1000

_VERSION = 1
_DEFLATED = 1
_HEAD = struct.Struct("<BBII")
_INT_DELTA, _SCALED, _LINEAR, _RAW = 1, 2, 3, 4
#: Each codec's parameters: INT_DELTA first value, step; SCALED gain, offset, first count, step;
#: LINEAR a, b, s, reference column.
_PARAMS = {_INT_DELTA: ("i8", "i8"), _SCALED: ("f8", "f8", "i8", "i8"), _LINEAR: ("f8", "i8", "f8", "u1"), _RAW: ()}
_WIDTHS = (0, 1, 2, 4, 8)
#: Largest |counts| of a SCALED column: float64 holds every integer up to 2**53 exactly.
_MAX_COUNTS = 2**31
#: A chunk whose samples take this many bytes or more each (a float column that is no calibrated counts) is deflated.
_DEFLATE_FROM_BYTES = 16
#: zlib level for deflated chunks.
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
            first, step, values = _delta(ints[name])
            params += [first, step]
        else:
            floats = np.ascontiguousarray(columns[name], dtype="<f8")
            scale = (scales or {}).get(name)
            counts = _counts(floats, scale) if scale is not None else None
            linear = _linear(floats, names, ints) if counts is None and name == "time_s" else None
            if scale is not None and counts is not None:
                codec = _SCALED
                first, step, values = _delta(counts, steady=False)
                params += [*scale, first, step]
            elif linear is not None:
                codec = _LINEAR
                params += linear[0]
                values = linear[1]
            else:
                codec, values = _RAW, floats.view("<i8")
        width, narrowed = _narrow(values) if codec != _RAW else (8, values)
        signature.append(codec | width << 4)
        stored.append(narrowed)
    shape = _shape(bytes(signature))
    assert shape is not None
    layout, record = shape
    records = np.empty(n, dtype=record)
    for k, values in enumerate(stored):
        if record.names and f"v{k}" in record.names:
            records[f"v{k}"] = values
    body = records.tobytes()
    flags = 0
    if n >= COMPRESS_FROM or record.itemsize >= _DEFLATE_FROM_BYTES:
        deflated = zlib.compress(body, _LEVEL)
        if len(deflated) < len(body):
            body, flags = deflated, _DEFLATED
    rest = bytes(signature) + (np.array(tuple(params), dtype=layout).tobytes() if params else b"") + body
    return _HEAD.pack(_VERSION, flags, n, zlib.crc32(rest)) + rest


def decode_chunks(chunks: Sequence[bytes], dtype: np.dtype, expected: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """The columns of ``dtype`` packed in ``chunks`` by :func:`encode_columns`, in order (each one array).

    ``expected``, when given, is how many rows each chunk must hold. Chunks packed alike
    (same codecs and widths) are decoded together: their bodies joined are one record array,
    and the arithmetic runs once per column.

    Raises
    ------
    CorruptChunkError
        When a chunk's header, codecs or body do not hold together, or it holds other than
        ``expected`` rows (``place`` says which chunk).
    """
    names = list(dtype.names or ())
    columns = len(names)
    start = _HEAD.size + columns
    counts: list[int] = []
    groups: dict[bytes, list[int]] = {}  # signature -> places (in counts) of the chunks packed with it
    bodies: list[bytes] = []
    params: list[bytes] = []
    for place, data in enumerate(chunks):
        try:
            version, flags, n, crc = _HEAD.unpack_from(data, 0)
            if version != _VERSION or flags & ~_DEFLATED:
                raise CorruptChunkError(f"unknown packed-chunk version {version} or flags {flags}")
            if zlib.crc32(memoryview(data)[_HEAD.size :]) != crc:
                raise CorruptChunkError("its bytes do not match their CRC-32")
            if expected is not None and n != expected[place]:
                raise CorruptChunkError(f"it holds {n} samples, the chunk says {expected[place]}")
            signature = bytes(data[_HEAD.size : start])
            shape = _shape(signature) if len(signature) == columns else None
            if shape is None:
                raise CorruptChunkError(f"column codecs {list(signature)} are not {columns} known codecs")
            end = start + shape[0].itemsize
            size = n * shape[1].itemsize
            body = data[end:] if not flags else _inflate(data[end:], size)
            if len(body) != size or len(data) < end:
                raise CorruptChunkError(f"{len(body)} bytes of samples where {n} take {size}")
        except struct.error as err:
            raise CorruptChunkError(f"header cut short ({len(data)} bytes)", place) from err
        except CorruptChunkError as err:
            raise CorruptChunkError(f"{err} ({len(data)} bytes)", place) from err
        if n:
            groups.setdefault(signature, []).append(len(counts))
            bodies.append(body)
            params.append(data[start:end])
            counts.append(n)
    if len(groups) == 1:
        signature = next(iter(groups))
        return _decode_group(bodies, counts, signature, b"".join(params), dtype)
    out = {name: np.empty(sum(counts), dtype=dtype[name]) for name in names}
    parts: dict[bytes, dict[str, np.ndarray]] = {}
    group_of: list[tuple[bytes, int]] = [(b"", 0)] * len(counts)  # chunk -> its group, its first row there
    for signature, places in groups.items():
        part_counts = [counts[j] for j in places]
        parts[signature] = _decode_group([bodies[j] for j in places], part_counts, signature,
                                         b"".join([params[j] for j in places]), dtype)
        row = 0
        for j, n in zip(places, part_counts, strict=True):
            group_of[j] = (signature, row)
            row += n
    # copied back in runs of consecutive chunks of one group: slices, not a gather per sample
    row, k = 0, 0
    while k < len(counts):
        signature, first = group_of[k]
        size = counts[k]
        k += 1
        while k < len(counts) and group_of[k] == (signature, first + size):
            size += counts[k]
            k += 1
        part = parts[signature]
        for name in names:
            out[name][row : row + size] = part[name][first : first + size]
        row += size
    return out


def _decode_group(bodies: list[bytes], counts: list[int], signature: bytes, params: bytes, dtype: np.dtype) -> dict[str, np.ndarray]:
    """Columns of chunks (none empty) packed alike: ``bodies`` their records, ``params`` their parameters."""
    names = list(dtype.names or ())
    total = sum(counts)
    shape = _shape(signature)
    assert shape is not None
    table = np.frombuffer(params, dtype=shape[0])
    records = np.frombuffer(b"".join(bodies), dtype=shape[1]) if shape[1].itemsize else None
    starts = np.cumsum([0, *counts[:-1]])
    stored = [records[f"v{k}"] if records is not None and c >> 4 else None for k, c in enumerate(signature)]
    out: dict[str, np.ndarray] = {}
    for k, column in enumerate(signature):
        codec, name = column & 15, names[k]
        if codec == _INT_DELTA:
            values = _undelta(stored[k], table[f"c{k}_0"], table[f"c{k}_1"], counts, starts, total)
            out[name] = values if dtype[name] == values.dtype else values.astype(dtype[name])
        elif codec == _SCALED:
            gain, offset_value = _per_sample(table[f"c{k}_0"], counts), _per_sample(table[f"c{k}_1"], counts)
            out[name] = _undelta(stored[k], table[f"c{k}_2"], table[f"c{k}_3"], counts, starts, total) * gain + offset_value
        elif codec == _RAW:
            raw = stored[k]
            out[name] = raw.astype("<i8").view("<f8") if raw is not None else np.zeros(total)
    for k, column in enumerate(signature):  # after the integer column each refers to
        if column & 15 != _LINEAR:
            continue
        refs = sorted({int(r) for r in table[f"c{k}_3"]})
        if any(r >= len(names) or dtype[names[r]].kind not in "iu" for r in refs):
            raise CorruptChunkError(f"column {names[k]}: its reference column is not an integer column")
        reference = np.asarray(out[names[refs[0]]], dtype=np.int64)
        if len(refs) > 1:
            reference = reference.copy()
            ref = np.repeat(table[f"c{k}_3"], counts)
            for r in refs[1:]:
                pick = ref == r
                reference[pick] = out[names[r]][pick]
        a, b, s = (_per_sample(table[f"c{k}_{j}"], counts) for j in range(3))
        with np.errstate(all="ignore"):
            predicted = (reference - b) / s + a
        residual = stored[k]
        bits = predicted.view(np.int64)
        out[names[k]] = (bits if residual is None else np.add(bits, residual, dtype=np.int64)).view("<f8")
    return out


def _per_sample(values: np.ndarray, counts: list[int]) -> np.ndarray | float | int:
    """A chunk parameter for every sample (one number when every chunk has the same)."""
    if len(values) and (values == values[0]).all():
        return float(values[0]) if values.dtype.kind == "f" else int(values[0])
    return np.repeat(values, counts)


_SHAPES: dict[bytes, tuple[np.dtype, np.dtype] | None] = {}


def _shape(signature: bytes) -> tuple[np.dtype, np.dtype] | None:
    """A chunk's parameter record (fields ``c<column>_<j>``) and sample record (fields ``v<column>``), by its
    column bytes; None when a column byte is unknown."""
    found = _SHAPES.get(signature, False)
    if found is False:
        found = None
        if all(c & 15 in _PARAMS and c >> 4 in _WIDTHS and (c & 15 != _RAW or c >> 4 in (0, 8)) for c in signature):
            layout = np.dtype([(f"c{k}_{j}", "<" + t) for k, c in enumerate(signature) for j, t in enumerate(_PARAMS[c & 15])])
            record = np.dtype([(f"v{k}", f"<i{c >> 4}") for k, c in enumerate(signature) if c >> 4])
            found = (layout, record)
        if len(_SHAPES) < 1024:
            _SHAPES[signature] = found
    return found  # type: ignore[return-value]


def _delta(values: np.ndarray, *, steady: bool = True) -> tuple[int, int, np.ndarray]:
    """The first value, the usual step, and 0 then each difference minus the step (int64, modulo 2**64).

    The step is the median difference of a ``steady`` column (a sample index, a clock), else 0
    (counts wander both ways; a step of 0 in every chunk costs nothing to decode).
    """
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) < 2:
        return (int(values[0]) if len(values) else 0), 0, out
    np.subtract(values[1:], values[:-1], out=out[1:])
    step = int(np.sort(out[1:])[(len(values) - 1) // 2]) if steady else 0
    out[1:] -= step
    return int(values[0]), step, out


def _undelta(
    stored: np.ndarray | None, firsts: np.ndarray, steps: np.ndarray, counts: list[int], starts: np.ndarray, total: int
) -> np.ndarray:
    """Each chunk's first value plus the running sum of its steps and differences (int64, modulo 2**64), in one pass.

    The value at a chunk's first sample is replaced by what takes the running sum from the
    previous chunk's last value to this chunk's first.
    """
    values = np.zeros(total, dtype=np.int64) if stored is None else stored.astype(np.int64)
    step = _per_sample(steps, counts)
    if not isinstance(step, int) or step:
        np.add(values, step, out=values)
    if len(starts) > 1:
        values[starts] = 0
        lasts = firsts.astype(np.int64) + np.add.reduceat(values, starts)
        values[starts[1:]] = firsts[1:].astype(np.int64) - lasts[:-1]
    values[0] = firsts[0]
    return np.cumsum(values, out=values)


def _narrow(values: np.ndarray) -> tuple[int, np.ndarray]:
    """The narrowest of 0 (all zero), 2, 4 or 8 bytes holding every value, and the values in it (little-endian).

    Not 1, which the format allows: the chunks of a trial then vary less in their widths, so
    more of them are packed alike and decoded together, at a byte or two a sample.
    """
    if len(values) == 0 or not values.any():
        return 0, values
    lo, hi = int(values.min()), int(values.max())
    for width in (2, 4):
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
        span = float(int(ints["sequence"][-1]) - int(ints["sequence"][0]))
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
    """The deflate stream ``body``, which must inflate to exactly ``size`` bytes and end there.

    Deflate expands at most about 1032 to 1, so a ``size`` beyond that of ``body`` is refused
    before anything is allocated, and nothing is inflated past ``size``.
    """
    if size > 1032 * len(body) + 64:
        raise CorruptChunkError(f"{len(body)} bytes of data cannot inflate to the {size} its header says")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, size + 1)
    except zlib.error as err:
        raise CorruptChunkError(f"data does not inflate: {err}") from err
    if len(out) != size or not inflater.eof or inflater.unused_data:
        raise CorruptChunkError(f"data inflates to {len(out)}{'' if inflater.eof else '+'} bytes, its header says {size}")
    return out
