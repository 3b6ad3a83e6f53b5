"""Shared helpers for the benchmark scripts: paths, hard failures for missing inputs, baseline tables.

A benchmark never skips a model quietly: a missing model file, baseline file, tool or Python
package ends the run with a message and a non-zero exit status.
"""
from __future__ import annotations

import importlib
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MODELS_DIR = SHARED / "models"
BASELINE = SHARED / "baselines" / "tflm_cmsisnn_cortex_m4.md"

# The shared int8 .tflite models compared with TFLM, relative to MODELS_DIR.
TFLITE = {
    "kws": "mlperf/kws/kws_ref_model.tflite",
    "vww": "mlperf/vww/vww_96_int8.tflite",
    "ic": "mlperf/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf/ad/ad01_int8.tflite",
    "sww": "mlperf/sww/str_ww_ref_model.tflite",
    "person_detect": "tflm/person_detection/person_detect.tflite",
    "micro_speech": "tflm/micro_speech/micro_speech_quantized.tflite",
    "hello_world": "tflm/hello_world/hello_world_int8.tflite",
}


class BenchmarkFailure(SystemExit):
    """Ends a benchmark run with exit status 1 and a message on stderr."""

    def __init__(self, msg: str):
        print(f"{Path(sys.argv[0]).name}: FAILED: {msg}", file=sys.stderr, flush=True)
        super().__init__(1)


def require_files(*paths) -> None:
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise BenchmarkFailure("missing input file(s): " + ", ".join(missing))


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise BenchmarkFailure("tool(s) not found on PATH: " + ", ".join(missing))


def require_modules(*names: str) -> None:
    for n in names:
        try:
            importlib.import_module(n)
        except Exception as e:  # noqa: BLE001  (any import failure means the check cannot run)
            raise BenchmarkFailure(f"Python module {n} cannot be imported ({e})") from None


def model_path(key: str) -> Path:
    if key not in TFLITE:
        raise BenchmarkFailure(f"unknown model {key!r}; known: {', '.join(TFLITE)}")
    path = MODELS_DIR / TFLITE[key]
    require_files(path)
    return path


def _num(cell: str) -> int:
    return int(cell.replace(",", "").strip())


def _tables(text: str) -> list:
    """Every markdown table in `text` as (header cells, [row cells])."""
    out, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-:| ]+\|$", lines[i + 1]):
            header = [c.strip() for c in lines[i].strip("|").split("|")]
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append([c.strip() for c in lines[j].strip("|").split("|")])
                j += 1
            out.append((header, rows))
            i = j
        else:
            i += 1
    return out


def read_baseline_footprint(path: Path = BASELINE) -> dict:
    """The baseline file's per-model figures for the TFLM + CMSIS-NN build, in bytes.

    {model: {"model": .tflite array bytes, "elf_text", "elf_data", "arena_used", "arena_min", "insns",
             "flash_tflm", "flash_cmsis_nn", "flash_model_inputs", "flash_harness", "flash_libs"}}
    from the main table (model bytes, arena used / min, ELF text / data / bss, instructions per
    inference with CMSIS-NN) and the
    "Memory / footprint" table (row variant cmsis_nn: the linker map breakdown of the flash).
    """
    require_files(path)
    tables = _tables(path.read_text())
    out: dict = {}
    main = next((t for t in tables if "model (B)" in t[0] and "ELF text / data / bss (B)" in t[0]), None)
    foot = next((t for t in tables if "flash: TFLM" in t[0] and "variant" in t[0]), None)
    if main is None or foot is None:
        raise BenchmarkFailure(f"{path}: the main table or the footprint table was not found")
    h = main[0]
    for row in main[1]:
        key = row[0].split(" (")[0]
        used, amin = (_num(c) for c in row[h.index("arena used / min (B)")].split("/"))
        text, data, _bss = (_num(c) for c in row[h.index("ELF text / data / bss (B)")].split("/"))
        insns = _num(row[h.index("approx insns CMSIS-NN (insn/MAC)")].split("(")[0])
        out[key] = dict(model=_num(row[h.index("model (B)")]), elf_text=text, elf_data=data,
                        arena_used=used, arena_min=amin, insns=insns)
    h = foot[0]
    cols = {"flash_tflm": "flash: TFLM", "flash_cmsis_nn": "flash: CMSIS-NN lib",
            "flash_model_inputs": "flash: model+inputs", "flash_harness": "flash: harness",
            "flash_libs": "flash: newlib/libgcc/libstdc++"}
    for row in foot[1]:
        if row[h.index("variant")] != "cmsis_nn" or row[0] not in out:
            continue
        out[row[0]].update({k: _num(row[h.index(c)]) for k, c in cols.items()})
    incomplete = [k for k, v in out.items() if "flash_tflm" not in v]
    if incomplete:
        raise BenchmarkFailure(f"{path}: no cmsis_nn footprint row for {', '.join(incomplete)}")
    return out


def qemu_matches_tflm(out_dir, model: Path, n: int = 3, seed: int = 2026) -> bool:
    """Run the built firmware under QEMU on n random int8 inputs and compare every output with TFLM's."""
    import numpy as np

    from tflite_micro.python.tflite_micro import runtime
    from tinygen.verify import qemu

    interp = runtime.Interpreter.from_bytes(Path(model).read_bytes())
    detail = interp.get_input_details(0)
    shape, dtype = tuple(detail["shape"]), detail["dtype"]
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    xs = rng.integers(info.min, info.max + 1, size=(n,) + shape, dtype=np.int64).astype(dtype)
    got = qemu.run_qemu(out_dir, [xs.reshape((n,) + (shape[1:] if shape[0] == 1 else shape))])
    for i in range(n):
        interp.set_input(xs[i], 0)
        interp.invoke()
        for k, g in enumerate(got):
            if np.asarray(g[i]).tobytes() != np.array(interp.get_output(k)).tobytes():
                return False
    return True


# ---- efficiency against the physical limit --------------------------------------------------------
# An M4/M7/M33 core with the DSP extension does two 8-bit MACs per instruction (SMLAD): a layer of M MACs
# needs at least M / 2 instructions. Efficiency = (MACs / 2) / instructions; wasted = instructions - MACs / 2.


def efficiency(macs: int, insns: int) -> str:
    return f"{macs / 2 / insns:.0%}" if macs and insns else "-"


def worst_layers(layers: list, kernels=None, n: int = 3) -> str:
    """One line naming the n layers with the most wasted instructions (insns - MACs/2)."""
    waste = sorted(((layer["instructions"] - layer["macs"] // 2, i) for i, layer in enumerate(layers)), reverse=True)
    parts = []
    for w, i in waste[:n]:
        layer = layers[i]
        kern = f" {kernels[i]}" if kernels else ""
        parts.append(f"#{i} {layer['op']}{kern} ({w:,} wasted, efficiency {efficiency(layer['macs'], layer['instructions'])})")
    return "furthest from the limit (insns - MACs/2): " + "; ".join(parts)
