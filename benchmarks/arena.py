"""Arena size per shared int8 model: tinygen against TFLM's arena, as markdown tables.

    .venv/bin/python benchmarks/arena.py [--models DIR] [names ...]

First table: tinygen's arena (activations + kernel scratch; the model's input and output stay in
the caller's buffers), its live-set lower bound (for the order and kernels it runs; "plain" is the
bound before in-place rewrites and reordering), TFLM's head (non-persistent: tensors + scratch,
inputs and outputs included) and whole arena (head + persistent tail), both from TFLM's
RecordingMicroAllocator in the pip `tflite-micro` interpreter.

Second table, like for like: TFLM's head holds the model's input and output tensors, tinygen's arena
does not, so tinygen's side adds the bytes of the input and output buffers the caller provides.
The last columns set that against TFLM's on-target arena for the deployable build
(`arena_used_bytes()` on cortex-m4 from ../shared/baselines/tflm_cmsisnn_cortex_m4.md).

Third table, the build that holds them as TFLM does (`--io-in-arena`, build option io_in_arena): the
input and output tensors are planned into the arena with the others, so that one figure is all the
RAM the model's tensors take, against TFLM's head, with the goal of issue 18 (<= head on every model,
<= 0.6x summed); its last columns give the smallest arena with the first layers run in bands of rows
(tinygen/memory/patch.py, what `--budget-ram` chooses), within +10% estimated instructions.

Fails (exit 1) when a model, the baseline file or tflite-micro is missing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (MODELS_DIR, TFLITE, BenchmarkFailure, read_baseline_footprint,  # noqa: E402
                    require_files, require_modules)

MODELS = {k: TFLITE[k] for k in ("kws", "vww", "ic", "ad", "sww", "hello_world", "micro_speech",
                                 "person_detect")}


def measure(path: Path) -> dict:
    from tinygen.memory import plan as planner
    from tinygen.memory import schedule
    from tinygen.compiler import load_model, lower
    from tinygen.codegen.report import tflm_arena

    graph = load_model(path)
    lowered = lower(graph)
    plain = planner.plan(graph, lowered)
    g2, l2 = schedule.optimize(graph, lowered)
    best = planner.plan(g2, l2)
    g3, l3 = schedule.optimize(graph, lowered, io_in_arena=True)
    with_io = planner.plan(g3, l3, io_in_arena=True)
    from tinygen.memory import patch  # the smallest arena with the first layers in bands, within +10%
    g4, l4, banded = patch.choose(g3, l3, 1, patch.DEFAULT_LIMIT, io_in_arena=True)
    banded_arena = planner.plan(g4, l4, io_in_arena=True).arena_bytes
    tflm = tflm_arena(path)
    if not tflm or not tflm.get("head"):
        raise BenchmarkFailure(f"{path}: TFLM's arena could not be recorded (tflite-micro interpreter)")
    return dict(ours=best.arena_bytes, lower_bound=best.lower_bound, plain_bound=plain.lower_bound,
                strategy=best.strategy, inplace=len(best.inplace), tflm=tflm,
                in_arena=with_io.arena_bytes, in_arena_bound=with_io.lower_bound, in_arena_strategy=with_io.strategy,
                banded=banded_arena, bands=patch.summary(banded),
                io=int(sum(graph.tensors[t].nbytes for t in graph.inputs)
                       + sum(graph.tensors[t].nbytes for t in graph.outputs)))


def table(rows: dict) -> str:
    out = ["| model | tinygen arena | lower bound (plain) | TFLM head | TFLM whole arena | tinygen / head |"
           " planner | in-place layers |",
           "|---|---:|---:|---:|---:|---:|---|---:|"]
    for name, r in rows.items():
        head, total = r["tflm"]["head"], r["tflm"]["total"]
        out.append(f"| {name} | {r['ours']:,} | {r['lower_bound']:,} ({r['plain_bound']:,}) | "
                   f"{head:,} | {total:,} | {r['ours'] / head:.3f} | {r['strategy']} | {r['inplace']} |")
    ours = sum(r["ours"] for r in rows.values())
    head = sum(r["tflm"]["head"] for r in rows.values())
    total = sum(r["tflm"]["total"] for r in rows.values())
    out.append(f"| **sum** | {ours:,} | | {head:,} | {total:,} | {ours / head:.3f} | | |")
    return "\n".join(out)


def table_with_io(rows: dict, base: dict) -> str:
    out = ["| model | tinygen arena | input + output buffers | tinygen arena + I/O | TFLM head | ratio to head "
           "| below TFLM head? | TFLM arena used on target | ratio to used |",
           "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for name, r in rows.items():
        ours, head, used = r["ours"] + r["io"], r["tflm"]["head"], base[name]["arena_used"]
        out.append(f"| {name} | {r['ours']:,} | {r['io']:,} | {ours:,} | {head:,} | {ours / head:.3f} | "
                   f"{'yes' if ours < head else '**no**'} | {used:,} | {ours / used:.3f} |")
    ours = sum(r["ours"] + r["io"] for r in rows.values())
    head = sum(r["tflm"]["head"] for r in rows.values())
    used = sum(base[name]["arena_used"] for name in rows)
    out.append(f"| **sum** | {sum(r['ours'] for r in rows.values()):,} | {sum(r['io'] for r in rows.values()):,} | "
               f"{ours:,} | {head:,} | {ours / head:.3f} | | {used:,} | {ours / used:.3f} |")
    return "\n".join(out)


GOAL_SUM = 0.6  # issue 18: arena with I/O counted <= 0.6x TFLM's head, summed over the models


def _bands(r: dict) -> str:
    b = r["bands"]
    if not b:
        return "-"
    over = ", output over the input" if b.get("overlay") else ""
    return f"layers {b['layers'][0]}-{b['layers'][-1]} in {b['bands']} bands{over}, ~{b['extra']:+.1%} insns"


def table_io_in_arena(rows: dict) -> str:
    out = ["| model | tinygen arena, I/O in it | lower bound | TFLM head | ratio to head | goal | meets | planner "
           "| with bands (within +10%) | ratio to head | bands |",
           "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|"]
    for name, r in rows.items():
        ours, head = r["in_arena"], r["tflm"]["head"]
        out.append(f"| {name} | {ours:,} | {r['in_arena_bound']:,} | {head:,} | {ours / head:.3f} | <= 1.000 | "
                   f"{'yes' if ours <= head else '**no**'} | {r['in_arena_strategy']} | {r['banded']:,} | "
                   f"{r['banded'] / head:.3f} | {_bands(r)} |")
    ours = sum(r["in_arena"] for r in rows.values())
    banded = sum(r["banded"] for r in rows.values())
    head = sum(r["tflm"]["head"] for r in rows.values())
    out.append(f"| **sum** | {ours:,} | | {head:,} | {ours / head:.3f} | <= {GOAL_SUM:.3f} | "
               f"{'yes' if ours <= GOAL_SUM * head else '**no**'} | | {banded:,} | {banded / head:.3f} | "
               f"goal <= {GOAL_SUM:.3f}: {'yes' if banded <= GOAL_SUM * head else '**no**'} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=MODELS_DIR, help="the shared models folder")
    ap.add_argument("names", nargs="*", help="subset of: " + ", ".join(MODELS))
    args = ap.parse_args(argv)
    names = args.names or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise BenchmarkFailure(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    require_files(*(args.models / MODELS[n] for n in names))
    require_modules("tinygen", "tflite_micro.python.tflite_micro.runtime")
    base = read_baseline_footprint()
    rows = {name: measure(args.models / MODELS[name]) for name in names}
    print(table(rows))
    print("\nWith the input and output buffers counted on tinygen's side (TFLM's head holds them):\n")
    print(table_with_io(rows, base))
    print("\nWith the input and output tensors planned into the arena (--io-in-arena), as TFLM's head holds "
          "them:\n")
    print(table_io_in_arena(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
