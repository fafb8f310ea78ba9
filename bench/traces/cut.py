#!/usr/bin/env python3
"""Cuts a window of ops out of a trace (format: ../shared/traces/README.md) so that it replays on
its own: a free of a block allocated before the window is dropped, a realloc of one becomes a
malloc of the new size. Usage: cut.py IN.trace.gz OUT.trace.gz START COUNT"""
import gzip, sys
src, dst, start, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
live = set(); out = []
with gzip.open(src, "rt") as f:
    for i, line in enumerate(f):
        if i < start: continue
        if len(out) >= count: break
        p = line.split(); k = p[0]; idx = int(p[1])
        if k in "acm": live.add(idx); out.append(line)
        elif k == "r":
            if idx in live: out.append(line)
            else: live.add(idx); out.append(f"a {idx} {p[2]}\n")
        elif k == "f":
            if idx in live: live.discard(idx); out.append(line)
with gzip.open(dst, "wt", compresslevel=9) as g: g.writelines(out)
