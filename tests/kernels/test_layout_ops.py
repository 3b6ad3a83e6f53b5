"""Layout ops (slices, splits, unpack, ...) as single-operator .tflite models written with tinygen's
flatbuffer writer (raw TFLite operands and options, every mask form), int8 and int16: the generated C and
the NumPy reference must equal TFLM's interpreter byte for byte, on random inputs and on the extremes."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from layout_models import one_op, qparams
from oracle import tflm_run
from tinygen.compiler import load_model, lower
from tinygen.verify.testing import host_model_for, run_reference

DTYPES = ("int8", "int16")


def _samples(graph, rng) -> list:
    """Two random samples over each input's full range, then all-min and all-max."""
    out = []
    for mode in ("rand", "rand", "min", "max"):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            info = np.iinfo(np.dtype(t.dtype))
            if mode == "rand":
                xs.append(rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype))
            else:
                xs.append(np.full(t.shape, info.min if mode == "min" else info.max, t.dtype))
        out.append(xs)
    return out


def check_against_tflm(data: bytes, tmp_path, name: str = "m") -> list:
    """Build `data` with tinygen; C and reference equal TFLM on every output; returns the lowered ops."""
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph)
    rng = np.random.default_rng(zlib.crc32(data))
    for k, xs in enumerate(_samples(graph, rng)):
        want = tflm_run(data, xs)
        got_c = model(xs)
        got_ref = run_reference(graph, xs, lowered)
        for j, w in enumerate(want):
            c = np.asarray(got_c[j]).reshape(w.shape)
            r = np.asarray(got_ref[j]).reshape(w.shape)
            assert c.dtype == w.dtype and c.tobytes() == w.tobytes(), f"sample {k} output {j}: C != TFLM"
            assert r.dtype == w.dtype and r.tobytes() == w.tobytes(), f"sample {k} output {j}: reference != TFLM"
    return lowered


# ---- STRIDED_SLICE ------------------------------------------------------------------------------

_MASKS = ("BeginMask", "EndMask", "EllipsisMask", "NewAxisMask", "ShrinkAxisMask", "Offset")
# (input shape, begin, end, strides, (begin, end, ellipsis, new_axis, shrink, offset) masks, output shape)
SLICES = [
    ((10,), [2], [9], [3], (0, 0, 0, 0, 0, 0), (3,)),
    ((10,), [-2], [-11], [-3], (0, 0, 0, 0, 0, 0), (3,)),
    ((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 0, 0, 0, 0), (2, 3)),
    ((4, 5), [-1, 4], [-5, -6], [-1, -2], (0, 0, 0, 0, 0, 0), (4, 3)),
    ((4, 5), [3, 0], [0, 0], [-1, 1], (0, 2, 0, 0, 0, 0), (3, 5)),
    ((4, 5), [3, 0], [0, 0], [-1, 1], (1, 3, 0, 0, 0, 0), (4, 5)),
    ((4, 5), [-1, 0], [0, 0], [1, 1], (0, 2, 0, 0, 1, 0), (5,)),
    ((4, 5), [2, 3], [0, 0], [1, 1], (0, 0, 0, 0, 3, 0), ()),
    ((3, 4, 5), [0, 1, 0], [3, 4, 5], [2, 2, 2], (0, 0, 0, 0, 0, 0), (2, 2, 3)),
    ((3, 4, 5), [0, 0, 0], [0, 0, 0], [1, -1, 1], (7, 7, 0, 0, 0, 0), (3, 4, 5)),
    ((1, 1, 1, 72), [0, 0, 0, 0], [0, 0, 1, 0], [1, 1, 1, 1], (11, 11, 0, 0, 4, 0), (1, 1, 72)),
    ((2, 6, 7, 9), [1, -5, 100, 2], [2, 6, -100, 9], [1, 2, -3, 3], (0, 0, 0, 0, 1, 0), (3, 3, 3)),
    ((2, 6, 7, 9), [0, 1, 1, 0], [2, 5, 6, 9], [1, 1, 1, 1], (0, 0, 0, 0, 0, 0), (2, 4, 5, 9)),
    ((2, 6, 7, 9), [1, 2, 0, 0], [2, 3, 7, 9], [1, 1, 1, 1], (0, 0, 0, 0, 0, 0), (1, 1, 7, 9)),
    ((2, 6, 7, 9), [0, 0, 0, 8], [2, 6, 7, 9], [1, 1, 1, 1], (0, 0, 0, 0, 8, 0), (2, 6, 7)),
    # TFLM ignores the ellipsis and new-axis masks and the offset flag: so does tinygen
    ((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 1, 0, 0, 0), (2, 3)),
    ((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 0, 2, 0, 0), (2, 3)),
    ((4, 5), [1, 1], [2, 3], [1, 1], (0, 0, 0, 0, 0, 1), (1, 2)),
]


def strided_slice_model(shape, begin, end, strides, masks, out_shape, dtype, rng) -> bytes:
    q = qparams(dtype, rng)
    r = len(begin)
    return one_op("STRIDED_SLICE", [("x", shape, dtype, q, None), ("begin", (r,), "int32", None, begin),
                                    ("end", (r,), "int32", None, end), ("strides", (r,), "int32", None, strides)],
                  [("y", out_shape, dtype, q, None)], "StridedSliceOptions", tuple(zip(_MASKS, masks)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(SLICES)))
def test_strided_slice_equals_tflm(case, dtype, tmp_path):
    rng = np.random.default_rng(case)
    lowered = check_against_tflm(strided_slice_model(*SLICES[case], dtype, rng), tmp_path)
    assert [lop.c_function for lop in lowered] == [f"tg_copy_strided_s{8 if dtype == 'int8' else 16}"]
