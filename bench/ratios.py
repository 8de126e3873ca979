#!/usr/bin/env python3
"""ratios.py RESULTS_DIR [LINKER...]: each LINKER's wall time (default: ldpy, and
ldpy-server when measured) divided by every other linker's that is not one of the
LINKERs, per job, from the links.tsv that run-bench.sh wrote (all from the same run)."""
import os
import sys


def main(results, *mine):
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(results, "links.tsv"))]
    head, body = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    times = {}
    for r in body:
        if r["status"] == "ok" and r["check"] == "ok":
            times.setdefault(r["job"], {})[r["linker"]] = float(r["median_s"])
        else:
            times.setdefault(r["job"], {})[r["linker"]] = None
    linkers = list(dict.fromkeys(r["linker"] for r in body))
    mine = [m for m in (mine or ("ldpy", "ldpy-server")) if m in linkers]
    peers = [l for l in linkers if l not in mine]
    for me in mine:
        table(me, peers, times)
        print()


def table(me, peers, times):
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
