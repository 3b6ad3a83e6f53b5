"""Measure the tables behind tinygen's cost estimates (tinygen/target/costs.json).

    nice .venv/bin/python benchmarks/calibrate_costs.py [--cores cortex-m4,...] [--out tinygen/target/costs.json]

For each core (the generic board of that core, run on its QEMU machine):
- instructions: each calibration model is built and run with `tinygen bench` (QEMU -icount, one
  instruction = one tick); every layer's instruction count is paired with its kernel (report.json
  `kernel`) and its work: MACs for kernels that multiply-accumulate, else input + output elements.
  The table keeps, per kernel, instructions per unit of work (and, for MAC kernels, per output element),
  fitted over the calibration layers (fit_kernels), with the worst per-layer deviation.
- code size: every runtime_c/*.c file compiled alone with the firmware's flags (arm-none-eabi-gcc -O2
  -ffunction-sections, the core's -mcpu/-mfpu), its .text + .rodata + .data bytes (arm-none-eabi-size).
  The rest of the image (startup, main, I/O, libc, model.c's calls) is fitted as fixed + per_layer bytes
  from the calibration firmware's text + data (arm-none-eabi-size of the ELF) minus weights and kernels.
Models are read from ../shared/models; a missing one ends the run (benchmarks never skip quietly).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from common import MODELS_DIR, TFLITE, require_files  # noqa: E402

CORES = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]
CALIBRATION = ["kws", "vww", "ad", "micro_speech", "hello_world", "digits", "ic",
               # recurrent, streaming and 16x8 kernels (paths under ../shared/models)
               "zoo/coraltd__keras_lstm_mnist_ptq.tflite", "zoo/ambiq__nnse_lstm_16x8.tflite",
               "zoo/mww__okay_nabu_v1.tflite", "zoo/tflm__id_model.tflite",
               "tflm/int16_ops/conv/conv0.tflite", "tflm/int16_ops/add/add0.tflite",
               "tflm/int16_ops/leaky_relu/leaky_relu0.tflite", "tflm/int16_ops/pad/pad0.tflite",
               "tflm/int16_ops/sub/sub0.tflite", "tflm/int16_ops/strided_slice/strided_slice0.tflite"]
HELD_OUT = ["person_detect", "sww"]  # not fitted: their estimate error is printed ("held out" lines)


def model_args(key: str) -> tuple:
    if key == "digits":
        return ROOT / "examples" / "digits_cnn.keras", np.load(ROOT / "examples" / "digits_calib.npy")
    return MODELS_DIR / TFLITE.get(key, key), None


def build_and_bench(key: str, core: str, tmp: Path):
    """(report, bench result, firmware text+data bytes) or None when the model does not fit the core's board."""
    from tinygen.compiler import compile_model
    from tinygen.errors import TinygenError
    from tinygen.verify.qemu import bench

    path, calib = model_args(key)
    require_files(path)
    out = tmp / f"{Path(key).stem}-{core}"
    try:
        res = compile_model(str(path), out, board=core, calibration=calib, measure_stack=False,
                            compare_tflm_arena=False)
    except TinygenError as exc:
        print(f"  {key} on {core}: not built ({exc})", flush=True)
        return None
    try:
        b = bench(out)
    except TinygenError as exc:  # e.g. the image overflows the board's flash at link time
        print(f"  {key} on {core}: not run ({str(exc).splitlines()[0]})", flush=True)
        return None
    elf = out / "build" / "firmware.elf"
    size = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data = (int(v) for v in size.splitlines()[1].split()[:2])
    image = text + data  # the flash image: code, constants, vectors and .data's initial values
    used = sorted({p.name for p in (out / "model").glob("tg_*.c")})
    return res.report, b, image, used


def layer_work(layer: dict) -> tuple:
    """(unit, amount): MACs when the layer multiplies-accumulates, else input + output elements."""
    if layer["macs"]:
        return "mac", int(layer["macs"])
    elems = sum(int(np.prod(s)) for s in layer["inputs"]) + sum(int(np.prod(s)) for s in layer["outputs"])
    return "element", max(elems, 1)


def out_elements(layer: dict) -> int:
    return sum(int(np.prod(s)) for s in layer["outputs"])


def code_sizes(core: str) -> dict:
    """{runtime .c file name: code + constant bytes} compiled alone with the core's firmware flags."""
    from tinygen.paths import runtime_dir
    from tinygen.target.boards import load_board

    board = load_board(core)
    include = runtime_dir() / "include"
    sizes = {}
    with tempfile.TemporaryDirectory() as td:
        for src in sorted(runtime_dir().rglob("*.c")):
            obj = Path(td) / (src.stem + ".o")
            cmd = (["arm-none-eabi-gcc", *board.arch_flags, "-std=c99", "-O2", "-ffunction-sections",
                    "-fdata-sections", f"-I{include}", f"-I{src.parent}", "-c", str(src), "-o", str(obj)])
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                continue  # a file that only compiles inside a model folder (needs generated headers)
            out = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True).stdout
            total = 0
            for line in out.splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0].startswith((".text", ".rodata", ".data")) and parts[1].isdigit():
                    total += int(parts[1])
            sizes[src.name] = total
    return sizes


def fit_kernels(rows: list) -> dict:
    """rows: (kernel, unit, work, output elements, instructions) -> {kernel: {unit, per_unit, per_output,
    layers, max_dev}}. instructions = per_unit * work (+ per_output * output elements for MAC kernels: the
    requantization and loop set-up per output), fitted by non-negative least squares on relative errors,
    so that small layers count as much as large ones; max_dev is the worst per-layer relative error."""
    from scipy.optimize import nnls

    table = {}
    for kernel in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == kernel and r[4] > 0]
        if not mine:
            continue
        unit = mine[0][1]
        y = np.array([r[4] for r in mine], dtype=float)
        cols = [[r[2] for r in mine]] + ([[r[3] for r in mine]] if unit == "mac" else [])
        a = np.array(cols, dtype=float).T / y[:, None]
        coef, _ = nnls(a, np.ones(len(mine)))
        per_unit, per_output = float(coef[0]), float(coef[1]) if len(coef) > 1 else 0.0
        est = per_unit * np.array(cols[0], float) + (per_output * np.array(cols[1], float) if len(cols) > 1 else 0)
        dev = float(np.max(np.abs(est - y) / y))
        table[kernel] = dict(unit=unit, per_unit=round(per_unit, 4), per_output=round(per_output, 4),
                             layers=len(mine), max_dev=round(dev, 3))
    return table


def fit_base(images: list) -> dict:
    """images: (measured, weights + kernels, layers) -> fixed + per_layer bytes by non-negative least squares."""
    if not images:
        return dict(fixed=0, per_layer=0, builds=0)
    a = np.array([[1.0, n] for _, _, n in images])
    y = np.array([m - k for m, k, _ in images], dtype=float)
    if len(images) == 1:
        return dict(fixed=int(y[0]), per_layer=0, builds=1)
    from scipy.optimize import nnls

    (fixed, per_layer), _ = nnls(a, y)  # both terms are bytes: neither may be negative
    return dict(fixed=int(round(fixed)), per_layer=int(round(per_layer)), builds=len(images))


def calibrate_core(core: str, tmp: Path) -> dict:
    print(f"{core}:", flush=True)
    sizes = code_sizes(core)
    rows, images, held = [], [], []
    for key in CALIBRATION + HELD_OUT:
        got = build_and_bench(key, core, tmp)
        if got is None:
            continue
        report, b, image, used = got
        kernels = [(L["kernel"], *layer_work(L), out_elements(L), int(bl["instructions"]))
                   for L, bl in zip(report["layers"], b["layers"]) if L["kernel"] not in ("view", "alias")]
        if key in HELD_OUT:
            held.append(dict(model=key, layers=kernels, instructions=int(b["instructions"]), image=image,
                             weights=int(report["weights_bytes"]), used=used, n_layers=len(report["layers"])))
            continue
        rows += kernels
        images.append((image, int(report["weights_bytes"]) + sum(sizes.get(f, 0) for f in used),
                       len(report["layers"])))
        print(f"  {Path(key).stem}: {b['instructions']:,} instructions, image {image:,} B", flush=True)
    entry = dict(kernels=fit_kernels(rows), code_bytes=sizes, image=fit_base(images))
    for h in held:  # models not fitted: how far the estimate is from the measurement (docs/analyze.md)
        e = _held_out_error(h, entry)
        print(f"  held out | {core} | {e['model']} | {e['instructions']:,} | {e['estimated_instructions']:,} | "
              f"{100 * (e['estimated_instructions'] / e['instructions'] - 1):+.1f} % | {e['image']:,} | "
              f"{e['estimated_image']:,} | {100 * (e['estimated_image'] / e['image'] - 1):+.1f} % | "
              f"{', '.join(e['missing_kernels']) or '-'}", flush=True)
    return entry


def _held_out_error(h: dict, entry: dict) -> dict:
    k = entry["kernels"]
    est = sum(k[kern]["per_unit"] * work + k[kern]["per_output"] * outs
              for kern, _, work, outs, _ in h["layers"] if kern in k)
    img = (h["weights"] + sum(entry["code_bytes"].get(f, 0) for f in h["used"]) + entry["image"]["fixed"]
           + entry["image"]["per_layer"] * h["n_layers"])
    return dict(model=h["model"], instructions=h["instructions"], estimated_instructions=int(est),
                image=h["image"], estimated_image=int(img),
                missing_kernels=sorted({kern for kern, *_ in h["layers"] if kern not in k}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default=",".join(CORES))
    ap.add_argument("--out", default=str(ROOT / "tinygen" / "target" / "costs.json"))
    ap.add_argument("--only", help="a trial run on these calibration models (comma-separated), no held-out ones")
    args = ap.parse_args()
    if args.only:
        CALIBRATION[:] = args.only.split(",")
        HELD_OUT.clear()
    gcc = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    qemu = subprocess.run(["qemu-system-arm", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    out_path = Path(args.out)
    doc = json.loads(out_path.read_text()) if out_path.is_file() else {"cores": {}}
    doc["how"] = ("benchmarks/calibrate_costs.py: instructions per kernel from `tinygen bench` (QEMU -icount, the "
                  "core's generic board) over the script's CALIBRATION models; code bytes per runtime_c file "
                  "compiled alone at -O2 for the core; image fixed + per-layer bytes fitted (non-negative least "
                  "squares) on the same firmware builds (arm-none-eabi-size text + data)")
    doc["tools"] = dict(gcc=gcc, qemu=qemu)
    with tempfile.TemporaryDirectory(prefix="tg-calib-") as td:
        for core in args.cores.split(","):
            doc["cores"][core] = calibrate_core(core, Path(td))
            out_path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
