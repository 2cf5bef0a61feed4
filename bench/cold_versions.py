#!/usr/bin/env python3
"""Times the cold path per module version, as the go command walks it.

usage: cold_versions.py BASE_URL MODULE_PREFIX COUNT [FIRST]

For each of COUNT modules MODULE_PREFIX<i>, i from FIRST (default 0) (none of them stored yet), asks
for .info, .mod and .zip of v1.0.0 one after another, and prints the
median time per version in milliseconds. Fails on any non-200 answer.
"""
import statistics
import sys
import time
import urllib.request


def main(base, prefix, count, first=0):
    times = []
    for i in range(first, first + count):
        began = time.monotonic()
        for suffix in ("info", "mod", "zip"):
            url = f"{base}/{prefix}{i}/@v/v1.0.0.{suffix}"
            with urllib.request.urlopen(url, timeout=120) as response:
                if response.status != 200:
                    sys.exit(f"{url}: {response.status}")
                response.read()
        times.append((time.monotonic() - began) * 1000)
    print("%.2f" % statistics.median(times))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
