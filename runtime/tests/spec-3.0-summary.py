#!/usr/bin/env python3
"""Sums runtime/tests/spec-core-3.0.txt (file, passed, failed) by proposal, as BENCHMARKS.md shows it.

Usage: python3 runtime/tests/spec-3.0-summary.py [table]   (default: the committed table)
Files are grouped by name; a file of one proposal often has modules of another.
"""
import re
import sys

GROUPS = [
    ("relaxed SIMD (interpreter)", lambda n: n.startswith("relaxed_") or "_relaxed_" in n),
    ("SIMD (interpreter)", lambda n: n.startswith("simd_")),
    ("tail calls (`return_call`, `return_call_indirect`)",
     lambda n: n in ("return_call", "return_call_indirect")),
    ("exception handling", lambda n: n in ("try_table", "throw", "throw_ref", "tag")),
    ("GC", lambda n: re.match(r"(array|struct|i31|ref_cast|ref_test|ref_eq|br_on_cast|"
                              r"type-subtyping|type-rec|type-canon|extern$|binary-gc|ref_null$)", n)),
    ("typed function references", lambda n: n in (
        "call_ref", "return_call_ref", "br_on_null", "br_on_non_null", "ref_as_non_null",
        "local_init", "type-equivalence", "unreached-valid", "ref_is_null", "ref", "table-sub",
        "br_table")),
    ("memory64 / table64 (`*64*`)", lambda n: "64" in n),
    ("multi-memory (`*0` ... `*4` files)", lambda n: re.search(r"[a-z_][0-4]$", n)),
    ("core (the 2.0 files of the 3.0 suite, extended constant expressions)", lambda n: True),
]

path = sys.argv[1] if len(sys.argv) > 1 else "runtime/tests/spec-core-3.0.txt"
sums = {g: [0, 0, 0, 0] for g, _ in GROUPS}
for line in open(path):
    name, passed, failed = line.split()
    n = name[: -len(".wast")]
    group = next(g for g, test in GROUPS if test(n))
    s = sums[group]
    s[0] += 1
    s[1] += int(failed) == 0
    s[2] += int(passed)
    s[3] += int(failed)
print("| files | count | in full | passed | failed |")
print("|---|---:|---:|---:|---:|")
total = [0, 0, 0, 0]
for g, _ in GROUPS:
    s = sums[g]
    total = [a + b for a, b in zip(total, s)]
    print(f"| {g} | {s[0]} | {s[1]} | {s[2]:,} | {s[3]:,} |")
print(f"| **all** | **{total[0]}** | **{total[1]}** | **{total[2]:,}** | **{total[3]:,}** |")
