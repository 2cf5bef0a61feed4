#!/usr/bin/env python3
"""Times many cold versions asked for at once, by several clients each.

usage: cold_parallel.py BASE_URL MODULE_PREFIX COUNT FIRST CLIENTS

For each of COUNT modules MODULE_PREFIX<i>, i from FIRST (none stored yet),
CLIENTS clients at once ask for .info, .mod and .zip of v1.0.0 one after
another; all versions at the same time (a pool of 32 threads). Prints the
wall time in seconds. Fails on any non-200 answer or differing zips.
"""
import concurrent.futures
import hashlib
import sys
import time
import urllib.request


def client(base, module):
    digest = None
    for suffix in ("info", "mod", "zip"):
        url = f"{base}/{module}/@v/v1.0.0.{suffix}"
        with urllib.request.urlopen(url, timeout=300) as response:
            if response.status != 200:
                raise SystemExit(f"{url}: {response.status}")
            body = response.read()
        if suffix == "zip":
            digest = hashlib.sha256(body).hexdigest()
    return module, digest


def main(base, prefix, count, first, clients):
    jobs = [f"{prefix}{i}" for i in range(first, first + count) for _ in range(clients)]
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda m: client(base, m), jobs))
    elapsed = time.monotonic() - began
    seen = {}
    for module, digest in results:
        if seen.setdefault(module, digest) != digest:
            raise SystemExit(f"{module}: clients got different zips")
    print("%.2f" % elapsed)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
