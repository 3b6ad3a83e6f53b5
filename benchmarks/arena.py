"""Arena size per shared int8 model: tinygen against TFLM's arena, as a markdown table.

    .venv/bin/python benchmarks/arena.py [--models DIR]

Columns: tinygen's arena (activations + kernel scratch, inputs/outputs in the caller's buffers),
its live-set lower bound (for the order and kernels it runs; "plain" is the bound before in-place
rewrites and reordering), TFLM's head (non-persistent: tensors + scratch, inputs/outputs included)
and whole arena (head + persistent tail), from TFLM's RecordingMicroAllocator.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODELS = {
    "kws": "mlperf/kws/kws_ref_model.tflite",
    "vww": "mlperf/vww/vww_96_int8.tflite",
    "ic": "mlperf/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf/ad/ad01_int8.tflite",
    "sww": "mlperf/sww/str_ww_ref_model.tflite",
    "hello_world": "tflm/hello_world/hello_world_int8.tflite",
    "micro_speech": "tflm/micro_speech/micro_speech_quantized.tflite",
    "person_detect": "tflm/person_detection/person_detect.tflite",
}
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "models"


def measure(path: Path) -> dict:
    from tinygen import plan as planner
    from tinygen import schedule
    from tinygen.compiler import load_model, lower
    from tinygen.report import tflm_arena

    graph = load_model(path)
    lowered = lower(graph)
    plain = planner.plan(graph, lowered)
    g2, l2 = schedule.optimize(graph, lowered)
    best = planner.plan(g2, l2)
    return dict(ours=best.arena_bytes, lower_bound=best.lower_bound, plain_bound=plain.lower_bound,
                strategy=best.strategy, inplace=len(best.inplace), tflm=tflm_arena(path))


def table(rows: dict) -> str:
    out = ["| model | tinygen arena | lower bound (plain) | TFLM head | TFLM whole arena | tinygen / head |"
           " planner | in-place layers |",
           "|---|---:|---:|---:|---:|---:|---|---:|"]
    tot_ours = tot_head = tot_total = 0
    for name, r in rows.items():
        t = r["tflm"] or {}
        head, total = t.get("head"), t.get("total")
        ratio = f"{r['ours'] / head:.3f}" if head else "-"
        out.append(f"| {name} | {r['ours']:,} | {r['lower_bound']:,} ({r['plain_bound']:,}) | "
                   f"{head:,} | {total:,} | {ratio} | {r['strategy']} | {r['inplace']} |" if head else
                   f"| {name} | {r['ours']:,} | {r['lower_bound']:,} ({r['plain_bound']:,}) | - | - | - |"
                   f" {r['strategy']} | {r['inplace']} |")
        tot_ours += r["ours"]
        tot_head += head or 0
        tot_total += total or 0
    ratio = f"{tot_ours / tot_head:.3f}" if tot_head else "-"
    out.append(f"| **sum** | {tot_ours:,} | | {tot_head:,} | {tot_total:,} | {ratio} | | |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=DEFAULT_DIR, help="the shared models folder")
    ap.add_argument("names", nargs="*", help="subset of: " + ", ".join(MODELS))
    args = ap.parse_args(argv)
    rows = {}
    for name in args.names or MODELS:
        path = args.models / MODELS[name]
        if not path.is_file():
            print(f"arena.py: skipping {name}: {path} not found", file=sys.stderr)
            continue
        rows[name] = measure(path)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
