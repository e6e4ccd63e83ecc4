"""Measured figures for the streaming rewrite: peak Python memory and speed against document size.

Run: ``python tests/benchmarks/bench_rewrite.py [--full]``. Documents are generated chunk by chunk (never held
whole) and name prod identifiers in every record; the output is consumed and dropped, as an upload would.
Each case is timed plainly, then run again under tracemalloc for its peak: tracing slows every allocation
about five times, so its time would mislead. The default run traces JSON and text at 1, 64 and 512 MiB (about
five minutes in all); ``--full`` traces every size.
Prints figures; asserts nothing.

The backends are those the Lambda artifact ships: the standard library's ``json`` scanner (C, but part of
CPython itself) and PyYAML's pure-Python parser (the artifact drops PyYAML's compiled ``_yaml``; the code only
ever uses ``yaml.SafeLoader``). That parser reads about 0.2 MB a second, so YAML is measured at 1 and 8 MiB
by default; ``--full`` adds 64 MiB (about 6 minutes, 30 traced) and 512 MiB (about 45 minutes, hours traced).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from typing import TYPE_CHECKING

import yaml

from pipeline_functions.shared.rewrite import Rewriter
from pipeline_functions.shared.streaming import rewrite_chunks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MIB = 1024 * 1024
CHUNK = 64 * 1024  # what the replicator reads from S3 at a time is of this order
PROD_BUCKET = "company-data-prod-us-east-1-pl01"
REWRITER = Rewriter(
    [(PROD_BUCKET, "company-data-dev-us-east-1-pl01"), ("-prod-pl01", "-dev-pl01")],
    {"environment": "dev", "logging": {"level": "DEBUG"}},
)
DESCRIPTION = "Orders loaded nightly from the raw zone, deduplicated and partitioned by day. "


def _json_block() -> bytes:
    records = [
        {
            "name": f"ddb-orders-prod-pl01-{i}",
            "bucket": PROD_BUCKET,
            "arn": f"arn:aws:s3:::{PROD_BUCKET}/raw/orders/{i}/",
            "shards": 12 + i,
            "ratio": 0.25,
            "enabled": True,
            "tags": {"team": "data", "cost-centre": "4711"},
            "description": DESCRIPTION * 3,
        }
        for i in range(64)
    ]
    return ",\n".join(json.dumps(record, indent=2) for record in records).encode()


def _yaml_block() -> bytes:
    return yaml.safe_dump(json.loads(b"[" + _json_block() + b"]"), sort_keys=False, width=200).encode()


def _text_block() -> bytes:
    lines = []
    for i in range(256):
        lines += [
            f"table.{i}.name=ddb-orders-prod-pl01-{i}",
            f"table.{i}.location=s3://{PROD_BUCKET}/raw/orders/{i}/",
            f"table.{i}.description={DESCRIPTION}",
        ]
    return ("\n".join(lines) + "\n").encode()


def json_document(size: int) -> Iterator[bytes]:
    block = _json_block()
    yield b'{"environment": "prod", "logging": {"level": "INFO"}, "tables": [\n' + block
    for _ in range(size // len(block)):
        yield b",\n" + block
    yield b"\n]}\n"


def yaml_document(size: int) -> Iterator[bytes]:
    block = _yaml_block()
    yield b"environment: prod\nlogging:\n  level: INFO\ntables:\n"
    for _ in range(max(1, size // len(block))):
        yield block


def text_document(size: int) -> Iterator[bytes]:
    block = _text_block()
    for _ in range(max(1, size // len(block))):
        yield block


def rechunked(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """CHUNK-sized reads, as from an S3 body."""
    for piece in pieces:
        for start in range(0, len(piece), CHUNK):
            yield piece[start : start + CHUNK]


def measure(fmt: str, make: Callable[[int], Iterator[bytes]], size: int, traced: bool) -> None:
    read = 0

    def counted() -> Iterator[bytes]:
        nonlocal read
        for chunk in rechunked(make(size)):
            read += len(chunk)
            yield chunk

    started = time.perf_counter()
    for _ in rewrite_chunks(counted(), fmt, REWRITER, fmt):
        pass
    elapsed = time.perf_counter() - started
    shown = "-"
    if traced:
        tracemalloc.start()
        for _ in rewrite_chunks(rechunked(make(size)), fmt, REWRITER, fmt):
            pass
        shown = f"{tracemalloc.get_traced_memory()[1] / 1024:.0f}"
        tracemalloc.stop()
    print(f"{fmt:>6} {read / MIB:>9.1f} {shown:>9} {elapsed:>8.2f} {read / elapsed / 1e6:>7.2f}", flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="YAML also at 64 and 512 MiB, and trace every size")
    args, _ = parser.parse_known_args(argv)  # nox passes the same arguments to every benchmark
    # (format, document, MiB, traced by default)
    cases = [
        ("json", json_document, 1, True),
        ("json", json_document, 64, True),
        ("json", json_document, 512, True),
        ("yaml", yaml_document, 1, True),
        ("yaml", yaml_document, 8, False),
        ("text", text_document, 1, True),
        ("text", text_document, 64, True),
        ("text", text_document, 512, True),
    ]
    if args.full:
        cases[5:5] = [("yaml", yaml_document, 64, False), ("yaml", yaml_document, 512, False)]
    print("streaming rewrite: json via the stdlib scanner, yaml via PyYAML's pure-Python SafeLoader, 64 KiB chunks")
    print("peak KiB: tracemalloc peak of the rewrite ('-': not traced by default, see --full); seconds untraced")
    print(f"{'format':>6} {'input MiB':>9} {'peak KiB':>9} {'seconds':>8} {'MB/s':>7}")
    for fmt, make, size, traced in cases:
        measure(fmt, make, size * MIB, traced or args.full)


if __name__ == "__main__":
    main(sys.argv[1:])
