"""Instructions per inference of tinygen's generated C vs TFLM (+ CMSIS-NN) under QEMU -icount shift=0.

Builds each MLPerf Tiny .tflite for a QEMU board, runs `tinygen.verify.qemu.bench` (whole inference and
per layer), checks the firmware's outputs under QEMU against TFLM's Python interpreter on a random,
an all-zero and an all -128 input, and prints markdown tables next to the figures in the baseline file (ticks x 40 =
instructions). cortex-m4 is compared with TFLM + CMSIS-NN, cortex-m3 (no DSP) with TFLM's
reference kernels. Exits 1 when an output differs from TFLM's, or when a model, the baseline file,
a tool or tflite-micro is missing.

    .venv/bin/python benchmarks/speed.py [--board cortex-m4|cortex-m3] [--models kws,vww,ic,ad] [--out DIR]
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BASELINE = SHARED / "baselines" / "tflm_cmsisnn_cortex_m4.md"
MODELS = {
    "kws": "mlperf/kws/kws_ref_model.tflite",
    "vww": "mlperf/vww/vww_96_int8.tflite",
    "ic": "mlperf/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf/ad/ad01_int8.tflite",
}
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import require_files, require_modules, require_tools  # noqa: E402

INSNS_PER_TICK = 40  # the baseline's calibration on mps2-an386
TARGET = 0.6  # the goal: at most 0.6x TFLM + CMSIS-NN


def _num(s: str) -> int:
    return int(s.replace(",", "").strip())


def read_baseline(path: Path = BASELINE) -> dict:
    """{model: {"cmsis": insns, "ref": insns, "layers": [(op, shapes, cmsis insns, ref insns)]}}."""
    text = path.read_text()
    out: dict = {}
    for m in re.finditer(r"^\| (\w+) \(MLPerf Tiny\) \| [^|]+\| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|", text, re.M):
        out[m.group(1)] = dict(cmsis=_num(m.group(3)) * INSNS_PER_TICK, ref=_num(m.group(4)) * INSNS_PER_TICK,
                               layers=[])
    for sec in re.finditer(r"^### (\w+)\n(.*?)(?=^### |^## |\Z)", text, re.M | re.S):
        key = sec.group(1)
        if key not in out:
            continue
        for row in re.finditer(r"^\| (\d+) \| (\w+) \| ([^|]*) \| [^|]* \| ([\d,]+) \| ([\d,]+) \|", sec.group(2), re.M):
            out[key]["layers"].append((row.group(2), row.group(3).strip(), _num(row.group(4)) * INSNS_PER_TICK,
                                       _num(row.group(5)) * INSNS_PER_TICK))
    return out


def tflm_output(model: Path, x: np.ndarray) -> bytes:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model.read_bytes())
    detail = interp.get_input_details(0)
    interp.set_input(np.asarray(x, dtype=detail["dtype"]).reshape(detail["shape"]), 0)
    interp.invoke()
    return np.array(interp.get_output(0)).tobytes()


def bench_model(key: str, board: str, out_root: Path) -> dict:
    import tinygen
    import tinygen.lower.fast  # noqa: F401  (the fast kernels are preferred once imported)
    from tinygen.verify import qemu

    path = SHARED / "models" / MODELS[key]
    out = out_root / f"{key}_{board}"
    result = tinygen.compile(str(path), out, board=board, name=key)
    b = qemu.bench(out)
    inp = result.report["inputs"][0]
    rng = np.random.default_rng(2026)
    xs = np.stack([rng.integers(-128, 128, size=inp["shape"]).astype(inp["dtype"]),
                   np.zeros(inp["shape"], inp["dtype"]), np.full(inp["shape"], -128, inp["dtype"])])
    got = qemu.run_qemu(out, [xs])[0]
    b["bit_exact"] = all(got[i].tobytes() == tflm_output(path, xs[i]) for i in range(len(xs)))
    b["kernels"] = [layer["kernel"] for layer in result.report["layers"]]
    return b


def table(key: str, b: dict, base: dict, board: str) -> str:
    col = "cmsis" if board == "cortex-m4" else "ref"
    name = "TFLM+CMSIS-NN" if col == "cmsis" else "TFLM reference"
    idx = 2 if col == "cmsis" else 3
    lines = [f"### {key} ({board}): {b['instructions']:,} instructions vs {name} {base[col]:,} "
             f"= {b['instructions'] / base[col]:.3f}x (goal <= {TARGET}x: {int(base[col] * TARGET):,}); "
             f"bit-exact with TFLM: {'yes' if b['bit_exact'] else 'NO'}", "",
             f"| # | op | kernel | MACs | tinygen insns | insn/MAC | {name} insns | ratio |",
             "|---:|---|---|---:|---:|---:|---:|---:|"]
    for i, layer in enumerate(b["layers"]):
        ref = base["layers"][i][idx] if i < len(base["layers"]) else 0
        per_mac = f"{layer['instructions'] / layer['macs']:.2f}" if layer["macs"] else "-"
        ratio = f"{layer['instructions'] / ref:.2f}" if ref else "-"
        lines.append(f"| {i} | {layer['op']} | {b['kernels'][i]} | {layer['macs']:,} | {layer['instructions']:,} "
                     f"| {per_mac} | {ref:,} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="cortex-m4", choices=["cortex-m4", "cortex-m3"])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=None, help="build folder (default: a temporary folder)")
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    require_files(BASELINE, *(SHARED / "models" / MODELS[k] for k in keys))
    require_tools("make", "arm-none-eabi-gcc", "qemu-system-arm")
    require_modules("tinygen", "tflite_micro.python.tflite_micro.runtime")
    base = read_baseline()
    col = "cmsis" if args.board == "cortex-m4" else "ref"
    with tempfile.TemporaryDirectory(prefix="tinygen-speed-") as tmp:
        out_root = Path(args.out) if args.out else Path(tmp)
        results = {k: bench_model(k, args.board, out_root) for k in keys}
    summary = ["| model | tinygen insns | baseline insns | ratio | goal | bit-exact |", "|---|---:|---:|---:|---:|---|"]
    for k, b in results.items():
        summary.append(f"| {k} | {b['instructions']:,} | {base[k][col]:,} | {b['instructions'] / base[k][col]:.3f} "
                       f"| {int(base[k][col] * TARGET):,} | {'yes' if b['bit_exact'] else 'NO'} |")
    print("\n".join(summary) + "\n")
    for k, b in results.items():
        print(table(k, b, base[k], args.board) + "\n")
    return 0 if all(b["bit_exact"] for b in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
