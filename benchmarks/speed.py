"""Instructions per inference of tinygen's generated C vs TFLM (+ CMSIS-NN) under QEMU -icount shift=0.

Builds each MLPerf Tiny .tflite for a QEMU board, runs `tinygen.verify.qemu.bench` (whole inference and
per layer), checks the firmware's outputs under QEMU against TFLM's Python interpreter on a random,
an all-zero and an all -128 input, and prints markdown tables next to the figures in the baseline file (ticks x 40 =
instructions). cortex-m4 is compared with TFLM + CMSIS-NN, cortex-m3 (no DSP) with TFLM's
reference kernels. cortex-m7 (mps2-an500) and cortex-m33 (mps2-an505) have no TFLM baseline of their
own: their tables give tinygen's figures on that core next to tinygen's and TFLM + CMSIS-NN's on
cortex-m4 (not like for like). Every table gives the efficiency against the physical limit,
(MACs / 2) / instructions (two 8-bit MACs per SMLAD), and names the layers furthest from it.
Exits 1 when an output differs from TFLM's, or when a model, the baseline file, a tool or
tflite-micro is missing.

    .venv/bin/python benchmarks/speed.py [--board cortex-m4|cortex-m3|cortex-m7|cortex-m33]
        [--models kws,vww,ic,ad] [--out DIR]
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

from common import efficiency, require_files, require_modules, require_tools, worst_layers  # noqa: E402

INSNS_PER_TICK = 40  # the baseline's calibration on mps2-an386
TARGET = 0.5  # the goal: at most 0.5x TFLM + CMSIS-NN (cortex-m4)
OTHER_CORES = ("cortex-m7", "cortex-m33")  # DSP cores without a TFLM baseline: compared with cortex-m4


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
    if board in OTHER_CORES:  # tinygen's own cortex-m4 figures, for comparison
        m4 = out_root / f"{key}_cortex-m4"
        tinygen.compile(str(path), m4, board="cortex-m4", name=key)
        b["m4"] = qemu.bench(m4)
    return b


def _baseline_name(board: str) -> tuple:
    """(baseline column key, its name, its index in the per-layer rows)."""
    if board == "cortex-m3":
        return "ref", "TFLM reference (M4)", 3
    return "cmsis", "TFLM+CMSIS-NN" + (" (M4)" if board in OTHER_CORES else ""), 2


def table(key: str, b: dict, base: dict, board: str) -> str:
    col, name, idx = _baseline_name(board)
    macs = sum(layer["macs"] for layer in b["layers"])
    head = (f"### {key} ({board}): {b['instructions']:,} instructions, efficiency {efficiency(macs, b['instructions'])}"
            f" of the MACs/2 limit; vs {name} {base[col]:,} = {b['instructions'] / base[col]:.3f}x")
    if board == "cortex-m4":
        head += f" (goal <= {TARGET}x: {int(base[col] * TARGET):,})"
    if board in OTHER_CORES:
        head += (f"; tinygen cortex-m4 {b['m4']['instructions']:,} (no TFLM baseline exists for {board}:"
                 f" the TFLM figures are cortex-m4's)")
    head += f"; bit-exact with TFLM: {'yes' if b['bit_exact'] else 'NO'}"
    m4_col = " tinygen M4 insns |" if board in OTHER_CORES else ""
    lines = [head, "", worst_layers(b["layers"], b["kernels"]), "",
             f"| # | op | kernel | MACs | tinygen insns | insn/MAC | efficiency |{m4_col} {name} insns | ratio |",
             "|---:|---|---|---:|---:|---:|---:|" + ("---:|" if m4_col else "") + "---:|---:|"]
    for i, layer in enumerate(b["layers"]):
        ref = base["layers"][i][idx] if i < len(base["layers"]) else 0
        per_mac = f"{layer['instructions'] / layer['macs']:.2f}" if layer["macs"] else "-"
        ratio = f"{layer['instructions'] / ref:.2f}" if ref else "-"
        m4 = f" {b['m4']['layers'][i]['instructions']:,} |" if m4_col else ""
        lines.append(f"| {i} | {layer['op']} | {b['kernels'][i]} | {layer['macs']:,} | {layer['instructions']:,} "
                     f"| {per_mac} | {efficiency(layer['macs'], layer['instructions'])} |{m4} {ref:,} | {ratio} |")
    return "\n".join(lines)


def summary(results: dict, base: dict, board: str) -> str:
    col, name, _ = _baseline_name(board)
    m4_col = " tinygen M4 insns |" if board in OTHER_CORES else ""
    lines = [f"| model | MACs | tinygen insns ({board}) | efficiency |{m4_col} {name} insns | ratio | goal | bit-exact |",
             "|---|---:|---:|---:|" + ("---:|" if m4_col else "") + "---:|---:|---:|---|"]
    for k, b in results.items():
        goal = f"{int(base[k][col] * TARGET):,}" if board == "cortex-m4" else "-"
        m4 = f" {b['m4']['instructions']:,} |" if m4_col else ""
        lines.append(f"| {k} | {b['macs']:,} | {b['instructions']:,} | {efficiency(b['macs'], b['instructions'])} |{m4}"
                     f" {base[k][col]:,} | {b['instructions'] / base[k][col]:.3f} | {goal} "
                     f"| {'yes' if b['bit_exact'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="cortex-m4", choices=["cortex-m4", "cortex-m3", *OTHER_CORES])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=None, help="build folder (default: a temporary folder)")
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    require_files(BASELINE, *(SHARED / "models" / MODELS[k] for k in keys))
    require_tools("make", "arm-none-eabi-gcc", "qemu-system-arm")
    require_modules("tinygen", "tflite_micro.python.tflite_micro.runtime")
    base = read_baseline()
    with tempfile.TemporaryDirectory(prefix="tinygen-speed-") as tmp:
        out_root = Path(args.out) if args.out else Path(tmp)
        results = {k: bench_model(k, args.board, out_root) for k in keys}
    if args.board in OTHER_CORES:
        print(f"No TFLM baseline exists for {args.board}: the TFLM+CMSIS-NN column is cortex-m4's (not like for like);"
              " tinygen's cortex-m4 figure is given for comparison.\n")
    print(summary(results, base, args.board) + "\n")
    for k, b in results.items():
        print(table(k, b, base[k], args.board) + "\n")
    return 0 if all(b["bit_exact"] for b in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
