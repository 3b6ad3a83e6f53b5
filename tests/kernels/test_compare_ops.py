"""Comparisons, SELECT_V2 and logical ops against TFLM's interpreter, with bool tensors (one byte) as model
inputs, intermediate masks and model outputs.

- EQUAL .. GREATER_EQUAL on int8: every pair of int8 values (a 256 x 256 broadcast) per quantization
  parameter set (equal scales, either scale larger, zero points at the type's ends), so each rescale and
  each tie is covered; EQUAL / NOT_EQUAL on bool. (int16 GREATER, which the pinned TFLM accepts but
  answers false everywhere, is refused.)
- Broadcast shapes of rank 1 to 4 with constant and activation operands.
- SELECT_V2 (int8, int16) with the condition a model input, a constant, or a mask computed in the model;
  LOGICAL_AND / OR / NOT; bool model outputs.
Models are written with tinygen's exporter and read back through the TFLite frontend; the generated C
and the lowering's NumPy reference must equal TFLM byte for byte.
"""
from __future__ import annotations

import numpy as np
import pytest

from single_op import INFO, build_graph, check_against_tflm, qp, tflm
from tinygen import ir
from tinygen.compiler import lower
from tinygen.errors import UnsupportedError
from tinygen.verify.export_tflite import to_bytes

K = ir.OpKind
COMPARES = [K.EQUAL, K.NOT_EQUAL, K.LESS, K.LESS_EQUAL, K.GREATER, K.GREATER_EQUAL]
# (input 1 scale, zp), (input 2 scale, zp)
PAIR_QUANT = [((0.05, 0), (0.05, 0)), ((0.05, 3), (0.05, -7)), ((0.02, -128), (0.0531, 127)),
              ((0.5, 127), (0.004, -128)), ((0.1, 10), (0.2, 20)), ((0.9, -50), (0.03, 60))]
SHAPES = [((1, 4, 5, 3), (1, 1, 3), True), ((2, 4, 5, 3), (3,), False), ((1, 1, 5, 3), (1, 4, 1, 3), False),
          ((6,), (2, 1, 6), False), ((3, 7), (3, 7), True)]


def _samples(graph, rng, n: int) -> list:
    """n random samples over each input's type (bool: random masks), then all-min and all-max."""
    out = []
    for k in range(n + 2):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            if t.dtype == "bool":
                xs.append(rng.integers(0, 2, size=t.shape).astype(bool) if k < n else np.full(t.shape, k == n + 1))
                continue
            lo, hi = INFO[t.dtype]
            v = rng.integers(lo, hi, size=t.shape, endpoint=True) if k < n else np.full(t.shape, lo if k == n else hi)
            xs.append(v.astype(t.dtype))
        out.append(xs)
    return out


@pytest.mark.parametrize("kind", COMPARES, ids=lambda k: k.value)
def test_int8_compare_all_pairs_equal_tflm(kind, tmp_path):
    tensors, ops, xs = [], [], []
    for k, (q1, q2) in enumerate(PAIR_QUANT):
        tensors += [(f"a{k}", (256, 1), "int8", qp(*q1), None), (f"b{k}", (1, 256), "int8", qp(*q2), None)]
        ops.append((kind, ir.NoAttrs(), [f"a{k}", f"b{k}"], (f"y{k}", (256, 256), "bool", None)))
        xs += [np.arange(-128, 128, dtype=np.int8).reshape(256, 1), np.arange(-128, 128, dtype=np.int8).reshape(1, 256)]
    graph = build_graph(tensors, ops, name=f"{kind.value.lower()}_pairs")
    _, lowered = check_against_tflm(graph, tmp_path, [xs])
    assert {lop.c_function for lop in lowered} == {"tg_compare_s8"}


@pytest.mark.parametrize("kind", COMPARES, ids=lambda k: k.value)
def test_int8_compare_broadcast_equals_tflm(kind, tmp_path):
    rng = np.random.default_rng(list(K).index(kind))
    tensors, ops = [], []
    for k, (xs, ys, const) in enumerate(SHAPES):
        q1, q2 = PAIR_QUANT[k % len(PAIR_QUANT)]
        data = rng.integers(-128, 128, size=ys) if const else None
        tensors += [(f"x{k}", xs, "int8", qp(*q1), None), (f"c{k}", ys, "int8", qp(*q2), data)]
        ops.append((kind, ir.NoAttrs(), [f"x{k}", f"c{k}"], (f"y{k}", np.broadcast_shapes(xs, ys), "bool", None)))
    graph = build_graph(tensors, ops, name=f"{kind.value.lower()}_bcast")
    check_against_tflm(graph, tmp_path, _samples(graph, rng, 4))


def test_int16_greater_is_wrong_in_tflm_and_refused():
    """The pinned TFLM accepts GREATER on int16 (its only int16 comparison) but its outputs do not follow
    x > y at equal scales and zero points: mostly false, and not the same from one process to the next (seen
    in full test runs), so there is no behaviour to match and tinygen refuses it. If a TFLM update fixes it,
    this test fails and the kernel can follow."""
    x = np.array([-32768, -100, 0, 5, 100, 32767, 200, -5], np.int16)
    y = np.array([0, -200, 0, 4, 101, 32766, -32768, -4], np.int16)
    graph = build_graph([("a", (8,), "int16", qp(0.001), None), ("b", (8,), "int16", qp(0.001), None)],
                        [(K.GREATER, ir.NoAttrs(), ["a", "b"], ("y", (8,), "bool", None))])
    interp = tflm(to_bytes(graph))
    interp.set_input(x, 0)
    interp.set_input(y, 1)
    interp.invoke()
    assert not np.array_equal(np.array(interp.get_output(0)).astype(bool), x > y)
    with pytest.raises(UnsupportedError, match=r"layer 'op0': op GREATER with input types \(int16, int16\)"):
        lower(graph)


@pytest.mark.parametrize("kind", [K.EQUAL, K.NOT_EQUAL, K.LOGICAL_AND, K.LOGICAL_OR], ids=lambda k: k.value)
def test_bool_binary_equals_tflm(kind, tmp_path):
    rng = np.random.default_rng(41)
    tensors, ops = [], []
    for k, (xs, ys, const) in enumerate(SHAPES):
        data = rng.integers(0, 2, size=ys).astype(bool) if const else None
        tensors += [(f"x{k}", xs, "bool", None, None), (f"c{k}", ys, "bool", None, data)]
        ops.append((kind, ir.NoAttrs(), [f"x{k}", f"c{k}"], (f"y{k}", np.broadcast_shapes(xs, ys), "bool", None)))
    graph = build_graph(tensors, ops, name=f"{kind.value.lower()}_bool")
    check_against_tflm(graph, tmp_path, _samples(graph, rng, 4))


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_select_v2_equals_tflm(dtype, tmp_path):
    """Condition a model input, a constant, or broadcast (rank 1 to 5); x and y with different parameters
    (copied as stored)."""
    rng = np.random.default_rng(51)
    lo, hi = INFO[dtype]
    plans = [((2, 3, 4), (2, 3, 4), (2, 3, 4), False), ((1, 3, 1), (2, 3, 4), (4,), False),
             ((4,), (1, 2, 3, 4), (1, 2, 3, 1), True), ((5, 1), (1, 6), (5, 6), False),
             ((2, 1, 3, 1, 2), (1, 2, 1, 4, 2), (2,), False), ((1, 2, 1, 1, 1), (2, 1, 2, 1, 3), (2, 2, 2, 1, 1), True)]
    tensors, ops = [], []
    for k, (cs, xs, ys, const_cond) in enumerate(plans):
        cond = rng.integers(0, 2, size=cs).astype(bool) if const_cond else None
        y_data = rng.integers(lo, hi, size=ys) if k == 1 else None
        tensors += [(f"c{k}", cs, "bool", None, cond), (f"x{k}", xs, dtype, qp(0.05, 0), None),
                    (f"w{k}", ys, dtype, qp(0.02, 0), y_data)]
        shape = np.broadcast_shapes(cs, xs, ys)
        ops.append((K.SELECT_V2, ir.NoAttrs(), [f"c{k}", f"x{k}", f"w{k}"], (f"y{k}", shape, dtype, qp(0.05, 0))))
    graph = build_graph(tensors, ops, name=f"select_{dtype}")
    _, lowered = check_against_tflm(graph, tmp_path, _samples(graph, rng, 4))
    assert {lop.c_function for lop in lowered} == {f"tg_select_{'s8' if dtype == 'int8' else 's16'}"}


def test_masks_inside_a_model_equal_tflm(tmp_path):
    """x > t and x <= u give masks in the arena; their AND picks x or y; NOT of it is a bool model output."""
    rng = np.random.default_rng(61)
    shape, q = (1, 6, 6, 4), qp(0.05, -3)
    graph = build_graph(
        [("x", shape, "int8", q, None), ("y", shape, "int8", q, None),
         ("t", (4,), "int8", qp(0.03, 5), rng.integers(-128, 0, size=4)),
         ("u", (1, 1, 4), "int8", qp(0.07, -9), rng.integers(0, 128, size=(1, 1, 4)))],
        [(K.GREATER, ir.NoAttrs(), ["x", "t"], ("gt", shape, "bool", None)),
         (K.LESS_EQUAL, ir.NoAttrs(), ["x", "u"], ("le", shape, "bool", None)),
         (K.LOGICAL_AND, ir.NoAttrs(), ["gt", "le"], ("band", shape, "bool", None)),
         (K.SELECT_V2, ir.NoAttrs(), ["band", "x", "y"], ("sel", shape, "int8", q)),
         (K.LOGICAL_NOT, ir.NoAttrs(), ["band"], ("outside", shape, "bool", None))],
        outputs=["sel", "outside"])
    check_against_tflm(graph, tmp_path, _samples(graph, rng, 4))


def test_unsupported_forms_name_the_layer_and_op():
    q = qp(0.01)
    less16 = build_graph([("a", (4,), "int16", q, None), ("b", (4,), "int16", q, None)],
                         [(K.LESS, ir.NoAttrs(), ["a", "b"], ("y", (4,), "bool", None))])
    with pytest.raises(Exception):  # TFLM refuses LESS on int16 when it runs
        interp = tflm(to_bytes(less16))
        interp.invoke()
    with pytest.raises(UnsupportedError, match=r"layer 'op0': op LESS with input types \(int16, int16\)"):
        lower(less16)
    big = build_graph([("a", (4,), "int8", qp(1.5), None), ("b", (4,), "int8", q, None)],
                      [(K.GREATER, ir.NoAttrs(), ["a", "b"], ("y", (4,), "bool", None))])
    with pytest.raises(UnsupportedError, match=r"layer 'op0' \(GREATER\): input 'a' has scale 1.5"):
        lower(big)
