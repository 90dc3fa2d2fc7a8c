#!/usr/bin/env python3
"""Whole-process `deja run` and `deja record` on the JIT and on the interpreter against
wasmtime's plain run (PyPI `wasmtime` through ../shared/tools/wasmtime-ref.py), on sightglass
programs, in one run. Prints a Markdown table for BENCHMARKS.md.

wasmtime's figure is its in-process total (compile, instantiate, run), without the Python
interpreter's start-up, so the ratios are conservative for deja.

Usage: bench/engines.py [--iters N] [--deja target/release/deja] --corpus DIR PROGRAM.wasm...
(PROGRAM paths relative to the corpus). Each figure is the best of N wall-clock times of the
whole process (start-up, compilation, the run, and for `record` writing the trace). deja's
stdout is compared with the program's `*.stdout.expected` when there is one.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time


def best_wall(cmd, iters, cwd=None):
    times = []
    out = b""
    for _ in range(iters):
        t = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - t) * 1000)
        out = p.stdout
    return min(times), out


def expected(wasm):
    d = os.path.dirname(wasm)
    name = os.path.splitext(os.path.basename(wasm))[0]
    for p in (os.path.join(d, f"{name}.stdout.expected"), os.path.join(d, "default.stdout.expected")):
        if os.path.exists(p):
            return open(p, "rb").read()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--deja", default="target/release/deja")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--wasmtime-ref", default=os.path.join(os.path.dirname(__file__), "../../shared/tools/wasmtime-ref.py"))
    ap.add_argument("programs", nargs="+")
    a = ap.parse_args()
    deja = os.path.abspath(a.deja)
    rows = []
    for prog in a.programs:
        wasm = os.path.abspath(os.path.join(a.corpus, prog))
        d = os.path.dirname(wasm)
        base = [deja]
        common = ["--bench-imports", "--dir", f"{d}::.", wasm]
        r = {}
        for engine in ("jit", "interp"):
            r[f"run_{engine}"], out = best_wall(base + ["run", "--engine", engine] + common, a.iters, cwd=d)
            exp = expected(wasm)
            r[f"ok_{engine}"] = "no expected output" if exp is None else ("ok" if out.strip() == exp.strip() else "WRONG OUTPUT")
            trace = os.path.join(tempfile.gettempdir(), f"deja-engines-{os.getpid()}.deja")
            r[f"rec_{engine}"], _ = best_wall(base + ["record", "--force", "--engine", engine, "-o", trace] + common, a.iters, cwd=d)
            os.unlink(trace)
        with tempfile.NamedTemporaryFile(suffix=".json") as j:
            subprocess.run([sys.executable, a.wasmtime_ref, "--iters", str(a.iters), "--json", j.name, wasm],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            data = json.load(open(j.name))
        entry = next(iter(data.values()))
        # wasmtime's compile + instantiate + run inside its process (Python's own start-up
        # excluded), which favours wasmtime over deja's whole-process figures.
        r["wasmtime"] = float(entry["total_ms_min"])
        rows.append((prog, r))
        print(prog, r, file=sys.stderr)
    print("| program | wasmtime run (ms) | deja run jit (ms) | deja record jit (ms) | record jit / wasmtime | deja run interp (ms) | deja record interp (ms) | record interp / wasmtime | output (jit, interp) |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios_j, ratios_i = [], []
    for prog, r in rows:
        rj, ri = r["rec_jit"] / r["wasmtime"], r["rec_interp"] / r["wasmtime"]
        ratios_j.append(rj)
        ratios_i.append(ri)
        print(f"| {prog} | {r['wasmtime']:.1f} | {r['run_jit']:.1f} | {r['rec_jit']:.1f} | {rj:.2f}x | {r['run_interp']:.1f} | {r['rec_interp']:.1f} | {ri:.2f}x | {r['ok_jit']}, {r['ok_interp']} |")
    print(f"\nmedian record / wasmtime: jit {statistics.median(ratios_j):.2f}x, interpreter {statistics.median(ratios_i):.2f}x")


if __name__ == "__main__":
    main()
