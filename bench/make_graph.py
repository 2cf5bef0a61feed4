#!/usr/bin/env python3
"""Writes a generated module graph into a GOPROXY file tree, and a project
that requires its roots, for bench/mirror.sh.

usage: make_graph.py ROOT PROJECT_DIR MODULES VERSIONS ZIP_KIB [SEED]

MODULES modules (bench.example/mNNN) with VERSIONS versions each
(v1.0.0 ...). Version k of module i requires three modules j > i at
versions up to k, so the graph is acyclic and several versions of most
modules are reached; four in five modules say `go 1.16` (their graph is
loaded whole), the rest `go 1.21` (pruned). Each zip carries one
incompressible file of ZIP_KIB KiB. The project requires every module at
its highest version.
"""
import json
import os
import random
import sys
import zipfile


def main(argv):
    root, project, modules, versions, kib = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    rng = random.Random(int(argv[6]) if len(argv) > 6 else 1)
    names = [f"bench.example/m{i:03d}" for i in range(modules)]
    for i, module in enumerate(names):
        go = "1.21" if i % 5 == 4 else "1.16"
        vdir = os.path.join(root, module, "@v")
        os.makedirs(vdir, exist_ok=True)
        listed = []
        for k in range(versions):
            version = f"v1.{k}.0"
            listed.append(version)
            later = names[i + 1:]
            reqs = rng.sample(later, min(3, len(later)))
            go_mod = f"module {module}\n\ngo {go}\n"
            for r in sorted(reqs):
                go_mod += f"\nrequire {r} v1.{rng.randint(0, k)}.0\n"
            with open(os.path.join(vdir, version + ".info"), "w") as f:
                json.dump({"Version": version, "Time": "2024-01-01T00:00:00Z"}, f, separators=(",", ":"))
            with open(os.path.join(vdir, version + ".mod"), "w") as f:
                f.write(go_mod)
            prefix = f"{module}@{version}/"
            with zipfile.ZipFile(os.path.join(vdir, version + ".zip"), "w", zipfile.ZIP_STORED) as z:
                z.writestr(prefix + "go.mod", go_mod)
                z.writestr(prefix + "data.bin", rng.randbytes(kib * 1024))
        with open(os.path.join(vdir, "list"), "w") as f:
            f.write("".join(v + "\n" for v in listed))
    os.makedirs(project, exist_ok=True)
    top = f"v1.{versions - 1}.0"
    with open(os.path.join(project, "go.mod"), "w") as f:
        f.write("module bench.example/project\n\ngo 1.21\n\nrequire (\n")
        f.write("".join(f"\t{m} {top}\n" for m in names))
        f.write(")\n")


if __name__ == "__main__":
    main(sys.argv)
