"""Patch-based execution (first layers in bands of rows) on VWW and person_detect, cortex-m4 under QEMU.

    .venv/bin/python benchmarks/patch.py [--limit 0.1] [names ...]

For each model, five builds: layer by layer; `--budget-ram` at half TFLM's head (the goal of issue
18); the smallest arena the planner finds within the recomputation limit; and the same two with the
model's input and output in the arena (`--io-in-arena`, counted as TFLM's head counts them). Each row
gives the arena, its ratio to TFLM's head, the layers run in bands and the band count, the MACs the
overlap recomputes, the instructions per inference under QEMU -icount (and their increase over the
layer-by-layer build of the same I/O placement, next to the planner's estimate from the kernels'
measured costs scaled by the measured banding overhead, which the limit applies to), whether that
measured increase is within the limit, and whether the firmware's outputs equal TFLM's on three
random inputs. Exits 1 when an output differs, a banded build's measured increase exceeds the
limit, or a model, tool or tflite-micro is missing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (MODELS_DIR, TFLITE, BenchmarkFailure, qemu_matches_tflm, require_files,  # noqa: E402
                    require_modules, require_tools)

MODELS = ("vww", "person_detect")
GOAL = 0.5  # issue 18: arena <= 0.5x TFLM's head on VWW and person_detect


def smallest(path: Path, io: bool, limit: float) -> int:
    """The smallest arena the planner's banding reaches within `limit` extra MACs (layer by layer if none)."""
    from tinygen.compiler import load_model, lower
    from tinygen.memory import patch, schedule
    from tinygen.memory import plan as planner

    graph = load_model(path)
    graph, lowered = schedule.optimize(graph, lower(graph), io)
    g2, l2, _ = patch.choose(graph, lowered, 1, limit, io)
    return planner.plan(g2, l2, io_in_arena=io).arena_bytes


def build_and_run(path: Path, out: Path, budget, io: bool, limit: float) -> dict:
    import tinygen
    from tinygen.verify import qemu

    r = tinygen.compile(str(path), out, board="cortex-m4", name="m", budget_ram=budget, io_in_arena=io,
                        patch_limit=limit, measure_stack=False, compare_tflm_arena=False)
    run = qemu.run_once(out)
    insns = (run["ticks"] * run["calibration"]["instructions"] + run["calibration"]["ticks"] // 2) \
        // run["calibration"]["ticks"]
    return dict(arena=r.report["arena_bytes"], patch=r.report["patch"], macs=r.report["macs"], insns=insns,
                exact=qemu_matches_tflm(out, path))


def rows_for(name: str, path: Path, head: int, limit: float, tmp: Path) -> list:
    out = []
    for io in (False, True):
        base = build_and_run(path, tmp / f"{name}-{io}-base", None, io, limit)
        budgets = [("layer by layer", None)]
        if not io:
            budgets.append((f"--budget-ram {int(GOAL * head):,} (0.5x head)", int(GOAL * head)))
        budgets.append(("smallest within the limit", smallest(path, io, limit)))
        for label, budget in budgets:
            r = base if budget is None else build_and_run(path, tmp / f"{name}-{io}-{budget}", budget, io, limit)
            out.append(dict(r, model=name, build=("I/O in arena, " if io else "") + label, head=head,
                            base_insns=base["insns"]))
    return out


def _measured(r: dict) -> float:
    return (r["insns"] - r["base_insns"]) / r["base_insns"]


def _over(p: dict) -> str:
    return " (output over the input)" if p.get("overlay") else ""


def table(rows: list, limit: float) -> str:
    lines = [f"| model | build | arena | / TFLM head | goal <= {GOAL} | layers in bands | bands | recomputed MACs "
             f"| estimated extra instructions (limit +{limit:.0%}) | instructions (QEMU) | vs layer by layer "
             "| measured within limit | equals TFLM |",
             "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        p = r["patch"]
        ratio = r["arena"] / r["head"]
        lines.append(
            f"| {r['model']} | {r['build']} | {r['arena']:,} | {ratio:.3f} | {'yes' if ratio <= GOAL else 'no'} | "
            + (f"{p['layers'][0]}-{p['layers'][-1]} | {p['bands']}{_over(p)} | +{p['extra_macs']:,} "
               f"({p['extra_macs'] / p['base_macs']:+.2%}) | {p['extra']:+.2%} | " if p else "- | - | - | - | ")
            + f"{r['insns']:,} | {_measured(r):+.2%} | "
              f"{('yes' if _measured(r) <= limit else '**NO**') if p else '-'} | "
              f"{'yes' if r['exact'] else '**NO**'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=0.10,
                    help="estimated extra instructions the bands may add (fraction of the model's), default 0.1")
    ap.add_argument("names", nargs="*", choices=[[], *MODELS], help="a subset of the models (default both)")
    args = ap.parse_args(argv)
    names = args.names or list(MODELS)
    require_files(*(MODELS_DIR / TFLITE[n] for n in names))
    require_tools("arm-none-eabi-gcc", "qemu-system-arm", "make")
    require_modules("tinygen", "tflite_micro.python.tflite_micro.runtime")
    from tinygen.codegen.report import tflm_arena

    rows = []
    with tempfile.TemporaryDirectory(prefix="tinygen-patch-") as tmp:
        for name in names:
            path = MODELS_DIR / TFLITE[name]
            tflm = tflm_arena(path)
            if not tflm or not tflm.get("head"):
                raise BenchmarkFailure(f"{path}: TFLM's arena could not be recorded (tflite-micro interpreter)")
            rows += rows_for(name, path, tflm["head"], args.limit, Path(tmp))
    print(table(rows, args.limit))
    if not all(r["exact"] for r in rows):
        print("an output differs from TFLM's", file=sys.stderr)
        return 1
    if any(r["patch"] and _measured(r) > args.limit for r in rows):
        print(f"a banded build adds more than +{args.limit:.0%} instructions (QEMU)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
