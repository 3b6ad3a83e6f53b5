"""Scratch sizes: the Python lowering's scratch_bytes equals the C kernel's *_get_buffer_size twin.

Every kernel that takes a scratch buffer has a `<kernel>_get_buffer_size` function in its header; the
twins are compiled on the host and called with the arguments of each lowered call (matched by
parameter name), over the shared models, in-place variants and the low-bit weight schemes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen.lower import csig, lowbit_x
from tinygen.memory import schedule
from tinygen.compiler import load_model, lower, quantize
from tinygen.verify.hostbuild import build_extension
from tinygen.lower.base import Literal
from tinygen.paths import runtime_file, runtime_include_dirs

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["mlperf/kws/kws_ref_model.tflite", "mlperf/vww/vww_96_int8.tflite", "mlperf/ic/pretrainedResnet_quant.tflite",
          "mlperf/ad/ad01_int8.tflite", "tflm/micro_speech/micro_speech_quantized.tflite",
          "tflm/person_detection/person_detect.tflite"]
SCHEMES = ["int4", "kmeans3", "ternary", "binary"]


def _twin(fn: str) -> str:
    return f"{fn}_get_buffer_size"


def _lowered_sets(models_dir):
    for rel in MODELS:
        graph = load_model(models_dir / rel)
        yield rel, lower(graph)
        yield rel + " (scheduled)", schedule.optimize(graph, lower(graph))[1]
    calib = np.load(ROOT / "examples" / "digits_calib.npy")[:32]
    for scheme in SCHEMES:
        q = quantize(load_model(ROOT / "examples" / "digits_cnn.keras"), calib, weights=scheme)
        yield f"digits {scheme}", lower(q)
        lowbit_x.ENABLED = False  # tg_lowbit.h's packed kernels, which the decode-once ones fall back to
        try:
            yield f"digits {scheme} (packed kernels)", lower(q)
        finally:
            lowbit_x.ENABLED = True


def test_every_scratch_kernel_has_a_c_twin():
    table = csig.signatures()
    missing = [fn for fn, params in table.items() if params and params[0].name == "scratch" and _twin(fn) not in table]
    assert missing == [], f"kernels taking scratch without a *_get_buffer_size twin: {missing}"


def test_python_scratch_sizes_equal_the_c_twins(models_dir):
    cases = []
    for label, lowered in _lowered_sets(models_dir):
        for lop in lowered:
            if lop.c_function and _twin(lop.c_function) in csig.signatures():
                cases.append((label, lop))
    fns = sorted({lop.c_function for _, lop in cases})
    cdef = "\n".join(f"int32_t {_twin(fn)}({', '.join(f'int32_t {p.name}' for p in csig.signature(_twin(fn)))});"
                     for fn in fns)
    sources = sorted({runtime_file(src) for _, lop in cases for src in lop.c_sources})
    _, lib = build_extension(cdef, "#include <stdint.h>\n" + cdef, sources, runtime_include_dirs())
    checked = set()
    for label, lop in cases:
        call = {p.name: a.value for p, a in zip(csig.check_call(lop), lop.args) if isinstance(a, Literal)}
        args = [int(call[p.name]) for p in csig.signature(_twin(lop.c_function))]
        want = getattr(lib, _twin(lop.c_function))(*args)
        assert lop.scratch_bytes == want, f"{label}, layer '{lop.op.name}' ({lop.c_function}{tuple(args)})"
        checked.add(lop.c_function)
    assert {"tg_conv2d_s8_fast", "tg_inplace_conv1x1_s8_fast", "tg_inplace_depthwise_rows_s8_fast", "tg_conv2d_lb",
            "tg_depthwise_conv2d_lb", "tg_fully_connected_lb", "tg_conv2d_lbx", "tg_depthwise_conv2d_lbx",
            "tg_fully_connected_lbx", "tg_conv2d_usad", "tg_conv2d_usad_t",
            "tg_fully_connected_usad_t"} <= checked, checked
