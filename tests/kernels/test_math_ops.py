"""Element-wise math against TFLM's interpreter: ABS (int8, int16), RSQRT (int8, int16), ELU (int8) over
their whole input domain (all 256 int8 values; all 65536 int16 values), for quantization parameters
whose rescale is 1, below one and above one, with zero points of both signs; the types TFLM refuses are
refused here with the layer and op named.

Models are written with tinygen's exporter and read back through the TFLite frontend; the generated C
and the lowering's NumPy reference must equal TFLM byte for byte.
"""
from __future__ import annotations

import numpy as np
import pytest

from single_op import build_graph, check_against_tflm, qp, random_inputs, tflm
from tinygen import ir
from tinygen.compiler import lower
from tinygen.errors import UnsupportedError
from tinygen.verify.export_tflite import to_bytes

K = ir.OpKind
# ((input scale, zp), (output scale, zp)); int16 tensors use the scales with zero point 0
UNARY_QUANT = {
    K.ABS: [((0.05, 3), (0.05, -7)), ((0.02, -100), (0.05, -128)), ((0.1, 40), (0.013, -128)),
            ((0.003, 127), (0.5, 0)), ((0.07, 0), (0.07, 0))],
    K.RSQRT: [((0.05, -128), (0.02, -128)), ((0.003, -20), (0.1, -128)), ((0.5, 10), (0.004, -100)),
              ((1 / 128, -128), (1 / 16, 0)), ((2.0, 0), (0.001, -128))],
    K.ELU: [((0.05, 3), (0.04, 20)), ((0.1, -100), (0.03, 70)), ((0.02, 127), (0.01, 0)),
            ((0.25, 0), (1 / 128, 127)), ((0.004, -128), (0.02, -5))],
}
INT16_QUANT = {
    K.ABS: [(0.001, 0.001), (0.0005, 0.0021), (0.003, 0.0007)],
    K.RSQRT: [(1 / 32768, 0.01), (0.002, 0.0003), (0.1, 1 / 4096), (4.0, 1e-5)],
}


def _domain(dtype: str, lo: int) -> np.ndarray:
    """Every value of the type from `lo` up, as one tensor (int16: 65536 values at most)."""
    info = np.iinfo(dtype)
    return np.arange(lo, info.max + 1).astype(dtype)


def _unary_model(kind, dtype: str, params: list, lows: list) -> tuple:
    tensors, ops, xs = [], [], []
    for k, ((sx, zx), (sy, zy)) in enumerate(params):
        x = _domain(dtype, lows[k])
        tensors.append((f"x{k}", x.shape, dtype, qp(sx, zx), None))
        ops.append((kind, ir.NoAttrs(), [f"x{k}"], (f"y{k}", x.shape, dtype, qp(sy, zy))))
        xs.append(x)
    return build_graph(tensors, ops, name=f"{kind.value.lower()}_{dtype}"), xs


@pytest.mark.parametrize("kind", [K.ABS, K.RSQRT, K.ELU], ids=lambda k: k.value)
def test_int8_unary_whole_domain_equals_tflm(kind, tmp_path):
    """All 256 inputs (RSQRT: all inputs >= its zero point; TFLM fails on the others) per parameter set."""
    params = UNARY_QUANT[kind]
    lows = [zx if kind == K.RSQRT else -128 for (_, zx), _ in params]
    graph, xs = _unary_model(kind, "int8", params, lows)
    _, lowered = check_against_tflm(graph, tmp_path, [xs, [x[::-1].copy() for x in xs]])
    assert {lop.c_function for lop in lowered} == {"tg_lut_s8"}


@pytest.mark.parametrize("kind", [K.ABS, K.RSQRT], ids=lambda k: k.value)
def test_int16_unary_whole_domain_equals_tflm(kind, tmp_path):
    """All 65536 int16 inputs (RSQRT: 0 .. 32767) per scale pair, zero points 0."""
    params = [((sx, 0), (sy, 0)) for sx, sy in INT16_QUANT[kind]]
    lows = [0 if kind == K.RSQRT else -32768] * len(params)
    graph, xs = _unary_model(kind, "int16", params, lows)
    _, lowered = check_against_tflm(graph, tmp_path, [xs])
    assert {lop.c_function for lop in lowered} == {f"tg_{kind.value.lower()}_s16"}


def test_rsqrt_below_zero_point_fails_in_tflm():
    """TFLM's RSQRT refuses inputs below the zero point at invoke: those inputs are outside the op's domain."""
    graph = build_graph([("x", (4,), "int8", qp(0.05, 0), None)],
                        [(K.RSQRT, ir.NoAttrs(), ["x"], ("y", (4,), "int8", qp(0.02, -128)))])
    interp = tflm(to_bytes(graph))
    interp.set_input(np.array([1, 2, -1, 3], np.int8), 0)
    with pytest.raises(Exception):
        interp.invoke()


def test_unary_chain_runs_in_place_and_equals_tflm(tmp_path):
    """ABS -> ELU -> RSQRT: the later two write over their input in the arena."""
    rng = np.random.default_rng(5)
    shape = (1, 8, 8, 4)
    graph = build_graph([("x", shape, "int8", qp(0.05, 3), None)],
                        [(K.ABS, ir.NoAttrs(), ["x"], ("a", shape, "int8", qp(0.03, -128))),
                         (K.ELU, ir.NoAttrs(), ["a"], ("e", shape, "int8", qp(0.04, -128))),
                         (K.RSQRT, ir.NoAttrs(), ["e"], ("y", shape, "int8", qp(0.05, -128)))])
    samples = [[rng.integers(-128, 128, size=shape).astype(np.int8)] for _ in range(4)]
    _, lowered = check_against_tflm(graph, tmp_path, samples)
    assert [lop.inplace_of for lop in lowered] == ["x", "a", "e"]


@pytest.mark.parametrize("kind,dtype", [(K.ELU, "int16"), (K.RSQRT, "int32")])
def test_types_tflm_refuses_are_refused(kind, dtype):
    q = qp(0.01)
    graph = build_graph([("x", (4,), dtype, q, None)], [(kind, ir.NoAttrs(), ["x"], ("y", (4,), dtype, q))])
    with pytest.raises(UnsupportedError, match=rf"layer 'op0': op {kind.value} with input types \({dtype}\)"):
        lower(graph)


def test_int16_nonzero_zero_point_is_refused():
    graph = build_graph([("x", (4,), "int16", qp(0.01, 5), None)],
                        [(K.ABS, ir.NoAttrs(), ["x"], ("y", (4,), "int16", qp(0.01)))])
    with pytest.raises(UnsupportedError, match=r"layer 'op0' \(ABS\): int16 tensor 'x' has zero point 5"):
        lower(graph)


# ---- SQUARED_DIFFERENCE, DIV ------------------------------------------------------------------------

# (input 1 shape, input 2 shape, input 2 constant?)
BINARY_SHAPES = [((1, 4, 5, 3), (1, 1, 3), True), ((2, 4, 5, 3), (3,), False), ((1, 1, 5, 3), (1, 4, 1, 3), False),
                 ((6,), (2, 1, 6), False), ((3, 7), (3, 7), True), ((1, 3, 3, 2), (1, 3, 3, 2), False)]
# (s1, zp1), (s2, zp2), (s_out, zp_out): input scales equal, either larger, outputs coarse and fine
BINARY_QUANT = [((0.05, 3), (0.05, -7), (0.02, -128)), ((0.2, -100), (0.01, 50), (0.5, -128)),
                ((0.003, 127), (0.3, 0), (0.01, -20)), ((0.1, 0), (0.1, 0), (0.001, 5))]
INT16_BINARY_SCALES = [(0.001, 0.001, 0.002), (0.0004, 0.003, 0.0009), (1 / 32768, 0.01, 1e-5)]


def _binary_model(kind, dtype, rng, attrs=None):
    tensors, ops = [], []
    for k, (xs, ys, const) in enumerate(BINARY_SHAPES):
        if dtype == "int16":
            q1, q2, qo = (qp(s) for s in INT16_BINARY_SCALES[k % len(INT16_BINARY_SCALES)])
        else:
            q1, q2, qo = (qp(s, z) for s, z in BINARY_QUANT[k % len(BINARY_QUANT)])
        lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
        data = rng.integers(lo, hi, size=ys, endpoint=True) if const else None
        tensors += [(f"x{k}", xs, dtype, q1, None), (f"d{k}", ys, dtype, q2, data)]
        ops.append((kind, attrs or ir.NoAttrs(), [f"x{k}", f"d{k}"],
                    (f"y{k}", np.broadcast_shapes(xs, ys), dtype, qo)))
    return build_graph(tensors, ops, name=f"{kind.value.lower()}_{dtype}")


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_squared_difference_equals_tflm(dtype, tmp_path):
    rng = np.random.default_rng(11 if dtype == "int8" else 12)
    graph = _binary_model(K.SQUARED_DIFFERENCE, dtype, rng)
    _, lowered = check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 4))
    assert {lop.c_function for lop in lowered} == {"tg_squared_difference_" + ("s8" if dtype == "int8" else "s16")}


def _all_pairs_model(kind, quants: list, attrs=None) -> tuple:
    """One op per parameter set over all 256 x 256 int8 pairs (input 1 a column, input 2 a row), DIV's
    divisor at its zero point included (TFLM's fixed-point reciprocal of 0 is finite and deterministic)."""
    tensors, ops, xs = [], [], []
    for k, (q1, q2, qo) in enumerate(quants):
        col = np.arange(-128, 128, dtype=np.int8).reshape(256, 1)
        row = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
        tensors += [(f"a{k}", (256, 1), "int8", qp(*q1), None), (f"b{k}", (1, 256), "int8", qp(*q2), None)]
        ops.append((kind, attrs or ir.NoAttrs(), [f"a{k}", f"b{k}"], (f"y{k}", (256, 256), "int8", qp(*qo))))
        xs += [col, row]
    return build_graph(tensors, ops, name=f"{kind.value.lower()}_pairs"), xs


@pytest.mark.parametrize("kind", [K.SQUARED_DIFFERENCE, K.DIV], ids=lambda k: k.value)
def test_int8_binary_all_pairs_equal_tflm(kind, tmp_path):
    """Every pair of int8 values, per parameter set (DIV: with and without a fused ReLU)."""
    quants = BINARY_QUANT + [((0.5, -128), (0.004, 127), (0.05, 0)), ((0.01, 0), (0.8, -3), (0.9, 60))]
    graph, xs = _all_pairs_model(kind, quants, ir.ElementwiseAttrs() if kind == K.DIV else None)
    check_against_tflm(graph, tmp_path, [xs])
    if kind == K.DIV:
        relu, xs = _all_pairs_model(kind, quants[:3], ir.ElementwiseAttrs(ir.Activation.RELU6))
        check_against_tflm(relu, tmp_path, [xs])


def test_div_broadcast_equals_tflm(tmp_path):
    rng = np.random.default_rng(13)
    graph = _binary_model(K.DIV, "int8", rng, ir.ElementwiseAttrs())
    samples = random_inputs(graph, rng, 4)
    _, lowered = check_against_tflm(graph, tmp_path, samples)
    assert {lop.c_function for lop in lowered} == {"tg_div_s8"}


def test_div_int16_is_refused():
    q = qp(0.01)
    graph = build_graph([("x", (4,), "int16", q, None), ("d", (4,), "int16", q, None)],
                        [(K.DIV, ir.ElementwiseAttrs(), ["x", "d"], ("y", (4,), "int16", q))])
    with pytest.raises(UnsupportedError, match=r"layer 'op0': op DIV with input types \(int16, int16\)"):
        lower(graph)


@pytest.mark.parametrize("opname", ["NEG", "EXP", "SQRT", "LOG"])
def test_float_only_builtins_are_refused_by_name(opname, tmp_path):
    """TFLM runs NEG, EXP, SQRT and LOG on float32 only; an int8 model with one is refused in one line."""
    from tinygen.compiler import load_model
    from tinygen.verify.export_tflite import _Writer

    q = qp(0.05)
    graph = build_graph([("x", (4,), "int8", q, None)], [])
    graph.tensors["y"] = ir.Tensor("y", (4,), "int8", q)
    graph.outputs = ["y"]
    w = _Writer(graph)
    w.emit(opname, [w.tensor("x")], [w.tensor("y")])
    path = tmp_path / "m.tflite"
    path.write_bytes(w.finish())
    with pytest.raises(UnsupportedError, match=rf"layer .*\({opname}, operator 0\): operator {opname} is not supported") as exc:
        load_model(str(path))
    assert "\n" not in str(exc.value)


# ---- LOG_SOFTMAX, L2_NORMALIZATION ------------------------------------------------------------------

NORM_SHAPES = [(1, 10), (2, 3, 7), (1, 2, 2, 16), (5, 1), (3, 200)]
NORM_INPUT_QUANT = [(0.05, 3), (0.3, -100), (0.004, 127), (1 / 16, -128), (0.9, 20)]


def _norm_samples(graph, rng, n: int) -> list:
    """Random rows, rows spanning the extremes, constant rows (every difference 0) and rows of one
    outlier over a floor (differences past the input radius)."""
    samples = random_inputs(graph, rng, n)
    for fill in (lambda s: np.zeros(s), lambda s: np.where(np.arange(s[-1]) == 0, 127, -128) * np.ones(s)):
        samples.append([fill(graph.tensors[name].shape).astype(np.int8) for name in graph.inputs])
    return samples


@pytest.mark.parametrize("kind", [K.LOG_SOFTMAX, K.L2_NORMALIZATION], ids=lambda k: k.value)
def test_last_axis_norms_equal_tflm(kind, tmp_path):
    rng = np.random.default_rng(21 if kind == K.LOG_SOFTMAX else 22)
    tensors, ops = [], []
    for k, (shape, (s, z)) in enumerate(zip(NORM_SHAPES, NORM_INPUT_QUANT)):
        out_q = qp(16 / 256, 127) if kind == K.LOG_SOFTMAX else qp(1 / 128, 0)
        attrs = ir.ElementwiseAttrs() if kind == K.L2_NORMALIZATION else ir.NoAttrs()
        tensors.append((f"x{k}", shape, "int8", qp(s, z), None))
        ops.append((kind, attrs, [f"x{k}"], (f"y{k}", shape, "int8", out_q)))
    graph = build_graph(tensors, ops, name=kind.value.lower())
    _, lowered = check_against_tflm(graph, tmp_path, _norm_samples(graph, rng, 6))
    fn = "tg_log_softmax_s8" if kind == K.LOG_SOFTMAX else "tg_l2norm_s8"
    assert {lop.c_function for lop in lowered} == {fn}


def test_log_softmax_other_output_parameters_are_refused():
    graph = build_graph([("x", (1, 8), "int8", qp(0.1), None)],
                        [(K.LOG_SOFTMAX, ir.NoAttrs(), ["x"], ("y", (1, 8), "int8", qp(0.1, 0)))])
    with pytest.raises(Exception):  # TFLM's Prepare refuses it too
        tflm(to_bytes(graph))
    with pytest.raises(UnsupportedError, match=r"layer 'op0' \(LOG_SOFTMAX\): int8 output must have scale 1/16"):
        lower(graph)


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_keras_abs_and_elu_through_ptq_equal_tflm(activations, tmp_path):
    """keras.ops.abs (an `Absolute` layer) and, for int8 (TFLM runs ELU on int8 only), Conv2D with
    activation='elu' and an ELU layer, quantized by tinygen's PTQ: the C equals TFLM running tinygen's
    export of the quantized graph."""
    import keras

    from tinygen.compiler import load_model, quantize

    inp = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="c")(inp)
    y = keras.ops.abs(x)
    if activations == "int8":
        y = keras.layers.Conv2D(4, 3, padding="same", activation="elu", name="c2")(y)
        y = keras.layers.ELU(name="elu")(y)
    model = keras.Model(inp, y)
    rng = np.random.default_rng(9)
    graph = quantize(load_model(model), rng.standard_normal((16, 6, 6, 3)).astype(np.float32), activations=activations)
    kinds = [op.kind for op in graph.ops]
    assert K.ABS in kinds and (kinds.count(K.ELU) == 2) == (activations == "int8")
    check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 4))


def test_keras_elu_with_other_alpha_is_a_table_op():
    """TFLite's ELU is alpha 1 only; another alpha becomes tinygen's element-wise LUT op of the same function."""
    import keras

    from tinygen.compiler import load_model

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.ELU(alpha=0.5, name="e")(keras.layers.Dense(3, name="d")(inp)))
    kinds = [op.kind.name for op in load_model(model).ops]
    assert "LUT" in kinds and "ELU" not in kinds
