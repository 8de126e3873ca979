#!/usr/bin/env python3
"""ratios.py RESULTS_DIR [LINKER]: ldpy's wall time divided by each peer's, per job,
from the links.tsv that run-bench.sh wrote (all measured in the same run)."""
import os
import sys


def main(results, me="ldpy"):
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(results, "links.tsv"))]
    head, body = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    times = {}
    for r in body:
        if r["status"] == "ok" and r["check"] == "ok":
            times.setdefault(r["job"], {})[r["linker"]] = float(r["median_s"])
        else:
            times.setdefault(r["job"], {})[r["linker"]] = None
    peers = [l for l in dict.fromkeys(r["linker"] for r in body) if l != me]
    print(f"| job | {me} s | " + " | ".join(f"{me}/{p}" for p in peers) + " |")
    print("|---|---|" + "---|" * len(peers))
    for job, t in times.items():
        mine = t.get(me)
        cells = []
        for p in peers:
            other = t.get(p)
            cells.append(f"{mine / other:.2f}x" if mine and other else "-")
        print(f"| {job} | {mine:.3f} | " if mine else f"| {job} | failed | ", end="")
        print(" | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
