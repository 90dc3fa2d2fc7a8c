#!/usr/bin/env python3
"""Runs the WASI test suite under `deja record --chaos`, then replays every trace.

For BENCHMARKS.md's check of the chaos strategies against the WASI contract: a strategy that
broke the contract would fail tests that rely only on the contract. Usage, from the repository
root after `cargo build --release`:

    DEJA_CORPUS=../shared/corpus examples/chaos/wasi-suite.py STRATEGIES [SEEDS]

STRATEGIES is a --chaos-strategies list (`all`, or names); each test runs under seeds 0..SEEDS-1
(default 2). Prints passed/total and the first failure of each failing test.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

target = os.environ.get("CARGO_TARGET_DIR", "target")
deja = os.path.abspath(os.environ.get("DEJA", os.path.join(target, "release", "deja")))
corpus = os.environ.get("DEJA_CORPUS", "../shared/corpus")
base = os.path.join(corpus, "wasi-testsuite", "tests")
strategies = sys.argv[1] if len(sys.argv) > 1 else "all"
seeds = range(int(sys.argv[2]) if len(sys.argv) > 2 else 2)

failures = {}
total = 0
for wasm in sorted(glob.glob(base + "/*/testsuite/wasm32-wasip1/*.wasm")):
    name = os.path.basename(wasm)[:-5]
    spec_path = wasm[:-5] + ".json"
    spec = json.load(open(spec_path)) if os.path.exists(spec_path) else {}
    for seed in seeds:
        total += 1
        work = tempfile.mkdtemp()
        trace = os.path.join(work, "t.deja")
        args = [deja, "record", "-o", trace, f"--chaos={seed}", "--chaos-strategies", strategies]
        if "root" in spec:
            root = os.path.join(work, "root")
            shutil.copytree(os.path.join(os.path.dirname(wasm), spec["root"]), root)
            for c in glob.glob(root + "/**/*.cleanup", recursive=True):
                shutil.rmtree(c) if os.path.isdir(c) else os.remove(c)
            args += ["--dir", root + "::/"]
        for k, v in spec.get("env", {}).items():
            args += ["--env", f"{k}={v}"]
        args += [wasm, "--"] + spec.get("args", [])
        rec = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        ok = rec.returncode == spec.get("exit_code", 0)
        if ok and "stdout" in spec and rec.stdout.decode(errors="replace") != spec["stdout"]:
            ok = False
        if not ok:
            failures.setdefault(name, (seed, f"exit {rec.returncode}"))
        else:
            rep = subprocess.run([deja, "replay", trace], capture_output=True)
            if rep.returncode != rec.returncode or not rep.stderr.startswith(b"replay matches"):
                failures.setdefault(name, (seed, "replay did not match"))
        shutil.rmtree(work)
tests = total // len(seeds)
print(f"{strategies}: {tests - len(failures)} of {tests} tests pass under every seed "
      f"({len(seeds)} seeds, {total} runs, every passing run replayed)")
for name, (seed, why) in sorted(failures.items()):
    print(f"  {name} (seed {seed}): {why}")
