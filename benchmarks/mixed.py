"""--mixed auto at tight flash budgets: halfway between the uniform int4 and int8c builds.

For digits, KWS and IC (float models, tinygen PTQ): the auto build's constants, its output MSE
against the float model on held-out inputs (NumPy reference, equal to the C), and uniform int4's.
benchmarks/schemes.py covers the halfway-to-int8 budget with instruction counts.

Exits 1 when the auto build exceeds its budget, is not more accurate than uniform int4, or an
input file is missing.

    .venv/bin/python benchmarks/mixed.py [--models digits,kws,ic]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schemes import model_and_data, quantize_input  # noqa: E402


def output_mse(res, held, want) -> float:
    from tinygen.verify.testing import run_reference

    r = res.report
    xs = quantize_input(held, r["inputs"][0])
    out = r["outputs"][0]
    refs = np.stack([run_reference(res.graph, [x[None]])[0] for x in xs])
    deq = ((refs.astype(np.float64) - out["zero_point"]) * out["scale"]).reshape(want.shape)
    return float(np.mean((deq - want) ** 2))


def main(argv=None) -> int:
    import tinygen
    from tinygen import passes
    from tinygen.quant import float_ref
    from tinygen.compiler import load_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="digits,kws,ic")
    args = ap.parse_args(argv)
    print("| model | budget (B) | int4 / int8c builds (B) | auto build (B) | output MSE auto | uniform int4 | chosen |")
    print("|---|---:|---:|---:|---:|---:|---|")
    ok = True
    for key in [k.strip() for k in args.models.split(",") if k.strip()]:
        path, calib, held = model_and_data(key)
        want = float_ref.run_batch(passes.optimize(load_model(path)), [held])[0]
        with tempfile.TemporaryDirectory(prefix="tinygen-mixed-") as tmp:
            b = {s: tinygen.compile(path, Path(tmp) / s, calibration=calib, weights=s, firmware=False)
                 for s in ("int4", "int8c")}
            budget = (b["int4"].report["weights_bytes"] + b["int8c"].report["weights_bytes"]) // 2
            a = tinygen.compile(path, Path(tmp) / "auto", calibration=calib, weights="auto", budget_flash=budget,
                                firmware=False)
            e_auto, e_int4 = output_mse(a, held, want), output_mse(b["int4"], held, want)
            ok &= a.report["weights_bytes"] <= budget and e_auto < e_int4
            print(f"| {key} | {budget:,} | {b['int4'].report['weights_bytes']:,} / "
                  f"{b['int8c'].report['weights_bytes']:,} | {a.report['weights_bytes']:,} | {e_auto:.4g} | "
                  f"{e_int4:.4g} | " + ", ".join(f"{k}={v}" for k, v in a.report["weight_schemes"].items()) + " |",
                  flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
