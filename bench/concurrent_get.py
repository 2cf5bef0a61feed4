#!/usr/bin/env python3
"""Downloads one URL from N threads at once, discarding the bodies.

usage: concurrent_get.py URL N

Fails unless every client got status 200 and the same number of bytes.
"""
import sys
import threading
import time
import urllib.request


def main(url, clients):
    sizes, errors = [], []
    start = threading.Barrier(clients)

    def fetch():
        try:
            start.wait()
            with urllib.request.urlopen(url, timeout=300) as response:
                total = 0
                while chunk := response.read(256 * 1024):
                    total += len(chunk)
                sizes.append((response.status, total))
        except Exception as e:  # reported below
            errors.append(repr(e))

    began = time.monotonic()
    threads = [threading.Thread(target=fetch) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    if errors or len(set(sizes)) != 1 or sizes[0][0] != 200:
        sys.exit(f"failed: errors={errors[:3]} results={sorted(set(sizes))}")
    print(f"{clients} clients x {sizes[0][1]} bytes in {elapsed:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
