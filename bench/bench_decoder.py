"""Decoder throughput against its floor: one ``binascii.crc_hqx`` call over the same bytes.

Any decoder that checks every byte must at least run the CRC over it; this benchmark
reports how many times that floor the whole decode costs (sync search, header
parsing, CRC, payload unpacking into per-channel arrays), for several DATA batch
sizes, fed in 4 KiB chunks as a serial port delivers them.

Run: ``python bench/bench_decoder.py`` (about 20 s). Targets: at most 5x the CRC floor
and at least 2 million samples/s on one core.
"""

from __future__ import annotations

import argparse
import random
import time
from binascii import crc_hqx

from firmware_protocols import MAX_SAMPLES_PER_FRAME, Data, FrameDecoder, FrameEncoder
from firmware_protocols.ascii import AsciiDecoder, encode_sample


def make_stream(samples_per_frame: int, total_samples: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    enc = FrameEncoder()
    frames = []
    index = 0
    while index < total_samples:
        n = samples_per_frame
        cols = [[rng.randint(-32768, 32767) for _ in range(n)] for _ in range(3)]
        frames.append(enc.encode(Data.from_samples(index * 1000, index, *cols, bytes(n))))
        index += n
    return b"".join(frames)


def best_of(repeats: int, fn) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def decode_all(stream: bytes, chunk: int) -> int:
    dec = FrameDecoder()
    samples = 0
    for i in range(0, len(stream), chunk):
        for frame in dec.feed(stream[i : i + chunk]):
            samples += len(frame.message)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples per stream")
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per feed() call")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"{'batch':>6} {'MB':>6} {'crc MB/s':>9} {'decode MB/s':>11} {'Msamples/s':>10} {'x floor':>8}")
    for spf in (10, 50, 100, MAX_SAMPLES_PER_FRAME):
        stream = make_stream(spf, args.samples)
        assert decode_all(stream, args.chunk) == (args.samples + spf - 1) // spf * spf
        t_crc = best_of(args.repeats, lambda stream=stream: crc_hqx(stream, 0xFFFF))
        t_dec = best_of(args.repeats, lambda stream=stream: decode_all(stream, args.chunk))
        n = (args.samples + spf - 1) // spf * spf
        mb = len(stream) / 1e6
        print(f"{spf:>6} {mb:>6.1f} {mb / t_crc:>9.0f} {mb / t_dec:>11.0f} {n / t_dec / 1e6:>10.2f} {t_dec / t_crc:>8.2f}")

    lines = b"".join(encode_sample(t, v, p, counter=i) for i, (t, v, p) in enumerate(
        (random.randint(0, 1023), random.randint(0, 1023), random.randint(0, 1023)) for _ in range(200_000)))
    dec_time = best_of(args.repeats, lambda: [AsciiDecoder().feed(lines[i : i + args.chunk])
                                              for i in range(0, len(lines), args.chunk)])
    print(f"ascii lines: {len(lines) / 1e6 / dec_time:.0f} MB/s, {200_000 / dec_time / 1e6:.2f} Msamples/s "
          "(no CRC: not comparable to the floor)")


if __name__ == "__main__":
    main()
