#!/usr/bin/env python3
"""Writes modules into a GOPROXY file tree for the benchmarks.

usage: make_modules.py ROOT MODULE SIZE_KIB [MODULE SIZE_KIB ...]

Each module gets v1.0.0 with a go.mod and one incompressible file of the
given size (stored, so the zip is about that size).
"""
import json
import os
import sys
import zipfile


def write_module(root, module, size_kib):
    version = "v1.0.0"
    vdir = os.path.join(root, module, "@v")
    os.makedirs(vdir, exist_ok=True)
    go_mod = f"module {module}\n\ngo 1.21\n"
    with open(os.path.join(vdir, "list"), "w") as f:
        f.write(version + "\n")
    with open(os.path.join(vdir, version + ".info"), "w") as f:
        json.dump({"Version": version, "Time": "2024-01-01T00:00:00Z"}, f, separators=(",", ":"))
    with open(os.path.join(vdir, version + ".mod"), "w") as f:
        f.write(go_mod)
    prefix = f"{module}@{version}/"
    with zipfile.ZipFile(os.path.join(vdir, version + ".zip"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(prefix + "go.mod", go_mod)
        z.writestr(prefix + "data.bin", os.urandom(size_kib * 1024))


def main(argv):
    root, pairs = argv[1], argv[2:]
    for module, size in zip(pairs[::2], pairs[1::2]):
        write_module(root, module, int(size))


if __name__ == "__main__":
    main(sys.argv)
