"""Flash per model on cortex-m4: tinygen's model + runtime bytes against TFLM + CMSIS-NN's, and whole firmware.

Run: .venv/bin/python benchmarks/flash.py [--weights int8|int8c|TABLE] [--models kws,person_detect,...]
     [--extend auto|all|none] [--bench]
(int8c: the same int8 values stored one byte per weight, no pre-extended copies; --extend: which layers keep
pre-extended int16 weights, auto: under the estimated TFLM + CMSIS-NN flash, tinygen/lower/extend_budget.py)

Each model is built for cortex-m4 and its firmware linked (`make`, -O2, --gc-sections). The linker
map attributes every byte that lands in flash (.vectors, .text with .rodata, .ARM.exidx and the .data
image) to the object it came from:
  - model + runtime: the objects compiled from OUT/model/ (generated model code, the const weights
    and requantization tables, the tg_* kernels);
  - harness: the objects from OUT/firmware/ (startup, main, SysTick timer, semihosting I/O);
  - toolchain libraries: newlib / libgcc / libm members (memcpy, memset, ...), and linker padding.
The first table compares model + runtime with TFLM's like-for-like part from the baseline's linker-map
breakdown (../shared/baselines/tflm_cmsisnn_cortex_m4.md, "Memory / footprint", variant cmsis_nn):
"flash: TFLM" (TFLM runtime and kernels) + "flash: CMSIS-NN lib" + the model's .tflite array (the
main table's "model (B)"; the test inputs embedded next to it in "flash: model+inputs" are left out).
Both sides leave out the harness and the toolchain libraries. The second table compares whole firmware ELF text + data with TFLM's deployable ELF, which
carries ~46 KB of newlib + semihosting printf.
With --bench each build is also run under QEMU mps2-an386: instructions per inference (`tinygen bench`)
and its outputs on 3 random inputs against TFLM's interpreter; any difference exits 1.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (TFLITE, BenchmarkFailure, model_path, qemu_matches_tflm,  # noqa: E402
                    read_baseline_footprint, require_modules, require_tools)

FLASH_SECTIONS = (".vectors", ".text", ".rodata", ".ARM.exidx", ".data")
_HEADER = re.compile(r"^(\.[\w.]+)(?:\s+0x[0-9a-f]+\s+0x[0-9a-f]+.*)?$")
_INPUT = re.compile(r"^ (\S+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*))?$")
_CONT = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")


def _group(origin: str) -> str:
    origin = origin.replace("\\", "/")
    if "/model/" in origin or origin.startswith("build/model/"):
        return "model"
    if "/firmware/" in origin or origin.startswith("build/firmware/"):
        return "harness"
    return "libs"


def map_breakdown(map_file: Path) -> dict:
    """Flash bytes per group ("model", "harness", "libs") from a GNU ld map, and "padding" (fill)."""
    text = map_file.read_text()
    start = text.find("Linker script and memory map")
    if start < 0:
        raise BenchmarkFailure(f"{map_file}: no memory map")
    sizes = {"model": 0, "harness": 0, "libs": 0, "padding": 0}
    section = None
    pending = None  # an input section name whose address/size/file follow on the next line
    for line in text[start:].splitlines():
        m = _HEADER.match(line)
        if m:
            section, pending = m.group(1), None
            continue
        in_flash = section is not None and any(section == s or section.startswith(s + ".") for s in FLASH_SECTIONS)
        if pending is not None:
            c = _CONT.match(line)
            pending = None
            if c and in_flash:
                sizes[_group(c.group(3))] += int(c.group(2), 16)
            continue
        if not in_flash:
            continue
        f = re.match(r"^ \*fill\*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", line)
        if f:
            sizes["padding"] += int(f.group(1), 16)
            continue
        m = _INPUT.match(line)
        if not m:
            continue
        name = m.group(1)
        if m.group(2) is None:
            if name.startswith(".") or name == "COMMON":
                pending = name
        elif name.startswith(".") or name == "COMMON":
            sizes[_group(m.group(4))] += int(m.group(3), 16)
    return sizes


def build_and_measure(key: str, out: Path, weights, bench: bool = False, extend: str = "auto") -> dict:
    import tinygen

    r = tinygen.compile(str(model_path(key)), out, board="cortex-m4", name=key, weights=weights, extend=extend)
    proc = subprocess.run(["make", "-s"], cwd=out, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchmarkFailure(f"make failed for {key}:\n{proc.stderr[-2000:]}")
    elf = out / "build" / "firmware.elf"
    size = subprocess.run(["arm-none-eabi-size", str(elf)], check=True, capture_output=True,
                          text=True).stdout.splitlines()[1].split()
    text, data = int(size[0]), int(size[1])
    parts = map_breakdown(out / "build" / "firmware.map")
    # The map must account for the whole image (up to alignment at section ends).
    rest = text + data - sum(parts.values())
    if not 0 <= rest < 256:
        raise BenchmarkFailure(f"{key}: the linker map accounts for {sum(parts.values()):,} B of "
                               f"{text + data:,} B of flash")
    parts["padding"] += rest
    row = dict(weights=int(r.report["weights_bytes"]), text=text, data=data, **parts)
    ext = r.report.get("extend", {})
    row["unextended"] = len(ext.get("unextended", []))
    row["est_extra"] = int(ext.get("est_extra_instructions", 0))
    if bench:
        from tinygen.verify import qemu

        row["insns"] = int(qemu.bench(out)["instructions"])
        row["exact"] = qemu_matches_tflm(out, model_path(key))
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="int8",
                    help="int8 (default), int8c, or a table such as 'DEPTHWISE_CONV_2D=int8,*=int8c'")
    ap.add_argument("--models", default=",".join(TFLITE))
    ap.add_argument("--extend", default="auto", choices=["auto", "all", "none"],
                    help="pre-extended weights: auto (default: under the estimated TFLM flash), all, none")
    ap.add_argument("--bench", action="store_true",
                    help="also run each build under QEMU: instructions, outputs checked against TFLM")
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    require_tools("make", "arm-none-eabi-gcc", "arm-none-eabi-size")
    require_modules("tinygen")
    if args.bench:
        require_tools("qemu-system-arm")
        require_modules("tflite_micro.python.tflite_micro.runtime")
    base = read_baseline_footprint()
    missing = [k for k in keys if k not in base]
    if missing:
        raise BenchmarkFailure(f"no baseline figures for {', '.join(missing)}")
    for k in keys:
        model_path(k)
    from tinygen.cli import _weights_arg

    weights = _weights_arg(args.weights)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="tinygen-flash-") as tmp:
        for key in keys:
            rows[key] = build_and_measure(key, Path(tmp) / key, weights, args.bench, args.extend)
            print(f"flash.py: {key} measured", file=sys.stderr, flush=True)

    print(f"Like for like (weights: {args.weights}, extend: {args.extend}): model + runtime, harness and toolchain "
          "libraries left out\n")
    print("| model | layers left unextended (est. extra insns) | tinygen constants (B) | tinygen model + runtime "
          "| TFLM runtime + kernels | CMSIS-NN lib | .tflite model | TFLM + CMSIS-NN model + runtime | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, r in rows.items():
        b = base[key]
        tflm = b["flash_tflm"] + b["flash_cmsis_nn"] + b["model"]
        print(f"| {key} | {r['unextended']} ({r['est_extra']:,}) | {r['weights']:,} | {r['model']:,} | "
              f"{b['flash_tflm']:,} | {b['flash_cmsis_nn']:,} | "
              f"{b['model']:,} | {tflm:,} | {r['model'] / tflm:.3f} |")

    print("\nWhole firmware (ELF text + data; harness and toolchain libraries included on both sides)\n")
    print("| model | tinygen model + runtime | harness | toolchain libs + padding | tinygen text + data "
          "| TFLM + CMSIS-NN text + data | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, r in rows.items():
        b = base[key]
        whole, tflm = r["text"] + r["data"], b["elf_text"] + b["elf_data"]
        print(f"| {key} | {r['model']:,} | {r['harness']:,} | {r['libs'] + r['padding']:,} | {whole:,} | "
              f"{tflm:,} | {whole / tflm:.3f} |")
    if args.bench:
        print("\nUnder QEMU mps2-an386 (cortex-m4)\n")
        print("| model | instructions | TFLM + CMSIS-NN | ratio | QEMU == TFLM (3 random inputs) |")
        print("|---|---:|---:|---:|---|")
        for key, r in rows.items():
            t = base[key]["insns"]
            print(f"| {key} | {r['insns']:,} | {t:,} | {r['insns'] / t:.3f} | {'yes' if r['exact'] else 'NO'} |")
        bad = [k for k, r in rows.items() if not r["exact"]]
        if bad:
            raise BenchmarkFailure("QEMU outputs differ from TFLM's for " + ", ".join(bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
