"""Pooling, MEAN, ADD/SUB/MUL, CONCATENATION, PAD and RESHAPE int8 kernels.

(a) generated C vs the NumPy reference over a plan of hand-built single-op graphs;
(b) the reference vs TFLM's interpreter on small Keras models converted by TF's converter;
(c) a few hand-computed values pinning the rounding rules the references must follow.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinygen.errors import UnsupportedError
from tinygen.ir import (Activation, ConcatAttrs, ElementwiseAttrs, Graph, MeanAttrs, Op, OpKind, PadAttrs,
                        Padding, Pool2DAttrs, QuantParams, ReshapeAttrs, Tensor, same_padding, valid_out)
from tinygen.lower.base import lower_op

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
A = Activation


# ---- graph building -----------------------------------------------------------------------------


@dataclass(frozen=True)
class T:
    """A tensor spec: shape, (scale, zero point), and constant data (None for a graph input)."""
    shape: tuple
    q: tuple = (0.05, 0)
    const: object = None


def q8(spec: T, name: str, rng) -> Tensor:
    data = None
    if spec.const is not None:
        data = (rng.integers(-128, 128, size=spec.shape).astype(np.int8) if isinstance(spec.const, str)
                else np.asarray(spec.const, dtype=np.int8).reshape(spec.shape))
    return Tensor(name, tuple(spec.shape), "int8", QuantParams.make(spec.q[0], spec.q[1]), data)


def single_op(kind: OpKind, attrs, ins: list, out: T, extra: list = (), seed: int = 0) -> Graph:
    """A graph holding one op; `extra` are further (non-int8-checked) const input tensors."""
    rng = np.random.default_rng(seed)
    tensors = {}
    names = []
    for i, spec in enumerate(ins):
        t = q8(spec, f"in{i}", rng)
        tensors[t.name] = t
        names.append(t.name)
    for t in extra:
        tensors[t.name] = t
        names.append(t.name)
    tensors["out"] = q8(out, "out", rng)
    graph_in = [n for n in names if not tensors[n].is_const]
    return Graph(tensors, [Op(kind, "layer0", names, ["out"], attrs)], graph_in, ["out"], name="t")


def random_inputs(graph: Graph, seed: int = 1) -> list:
    """Random int8 samples, with the extremes -128 / 127 planted at the start of each."""
    rng = np.random.default_rng(seed)
    xs = []
    for name in graph.inputs:
        t = graph.tensors[name]
        x = rng.integers(-128, 128, size=t.shape).astype(np.int8)
        flat = x.reshape(-1)
        flat[: min(2, flat.size)] = [-128, 127][: min(2, flat.size)]
        xs.append(x)
    return xs


def check_c_vs_reference(graph: Graph, seeds=(1, 2)) -> None:
    from tinygen.verify.testing import run_c, run_reference

    for seed in seeds:
        xs = random_inputs(graph, seed)
        ref = run_reference(graph, xs)
        got = run_c(graph, xs)
        for r, g in zip(ref, got):
            assert r.dtype == g.dtype and r.shape == g.shape
            diff = np.flatnonzero(r.reshape(-1) != g.reshape(-1))
            assert diff.size == 0, f"{diff.size} bytes differ, first at {diff[:5]}: ref {r.reshape(-1)[diff[:5]]} " \
                                   f"C {g.reshape(-1)[diff[:5]]}"


# ---- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolCase:
    kind: OpKind
    in_shape: tuple
    filt: tuple
    stride: tuple
    same: bool
    act: Activation = A.NONE
    q: tuple = (0.05, 3)


POOL_CASES = [
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 5, 6, 3), (3, 3), (1, 1), True),
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 6, 6, 2), (2, 2), (2, 2), False, A.RELU, (0.02, -128)),
    PoolCase(OpKind.AVERAGE_POOL_2D, (2, 7, 5, 3), (3, 2), (2, 1), True, A.RELU6, (0.05, -10)),
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 4, 5, 8), (4, 5), (1, 1), False, q=(0.1, 127)),  # global window
    PoolCase(OpKind.MAX_POOL_2D, (1, 7, 7, 4), (3, 3), (2, 2), True, q=(0.05, -128)),
    PoolCase(OpKind.MAX_POOL_2D, (1, 6, 5, 2), (2, 2), (2, 2), False, A.RELU_N1_TO_1, (0.02, 5)),
    PoolCase(OpKind.MAX_POOL_2D, (2, 5, 5, 3), (2, 3), (1, 2), True, A.RELU, (0.05, 20)),
]


def pool_graph(c: PoolCase) -> Graph:
    n, h, w, ch = c.in_shape
    if c.same:
        t, b, oh = same_padding(h, c.filt[0], c.stride[0])
        l, r, ow = same_padding(w, c.filt[1], c.stride[1])
        pad = Padding(t, b, l, r)
    else:
        pad = Padding()
        oh, ow = valid_out(h, c.filt[0], c.stride[0]), valid_out(w, c.filt[1], c.stride[1])
    attrs = Pool2DAttrs(c.filt[0], c.filt[1], c.stride[0], c.stride[1], pad, c.act)
    return single_op(c.kind, attrs, [T(c.in_shape, c.q)], T((n, oh, ow, ch), c.q))


@dataclass(frozen=True)
class BinCase:
    kind: OpKind
    a: T
    b: T
    out: T
    act: Activation = A.NONE


BIN_CASES = [
    BinCase(OpKind.ADD, T((1, 4, 4, 3), (0.05, 3)), T((1, 4, 4, 3), (0.03, -7)), T((1, 4, 4, 3), (0.07, -2)), A.RELU),
    BinCase(OpKind.ADD, T((1, 3, 4, 3), (0.05, -128)), T((1, 1, 1, 3), (0.1, 127)), T((1, 3, 4, 3), (0.12, 0))),
    BinCase(OpKind.ADD, T((2, 1, 3, 1), (0.02, 1)), T((1, 4, 1, 5), (0.04, 2)), T((2, 4, 3, 5), (0.05, 3)), A.RELU6),
    BinCase(OpKind.ADD, T((2, 3)), T((1, 1, 1, 3), (0.08, 9), const="r"), T((1, 1, 2, 3), (0.1, -4))),
    BinCase(OpKind.ADD, T((1, 4, 4, 2), (0.5, 0)), T((1, 4, 4, 2), (0.5, 0)), T((1, 4, 4, 2), (0.001, 0))),  # saturates
    BinCase(OpKind.SUB, T((1, 4, 4, 3), (0.05, 3)), T((1, 4, 4, 3), (0.03, -7)), T((1, 4, 4, 3), (0.07, -2))),
    BinCase(OpKind.SUB, T((1, 2, 3, 4), (0.05, 127)), T((), (0.01, -3), const=[100]), T((1, 2, 3, 4), (0.06, -128)),
            A.RELU),
    BinCase(OpKind.SUB, T((3, 1, 4), (0.04, -1)), T((1, 5, 1), (0.04, -1)), T((3, 5, 4), (0.04, -1)), A.RELU_N1_TO_1),
    BinCase(OpKind.MUL, T((1, 4, 4, 3), (0.05, 3)), T((1, 4, 4, 3), (0.03, -7)), T((1, 4, 4, 3), (0.02, -2))),
    BinCase(OpKind.MUL, T((1, 3, 4, 3), (0.1, -128)), T((1, 1, 1, 3), (0.1, 127), const="r"), T((1, 3, 4, 3), (0.5, 10)),
            A.RELU),
    BinCase(OpKind.MUL, T((2, 1, 3)), T((1, 4, 1), (0.2, 0)), T((2, 4, 3), (0.0001, 0)), A.RELU6),  # saturates
    BinCase(OpKind.MUL, T((1, 2, 2, 3), (2.0, 0)), T((1, 2, 2, 3), (3.0, 0)), T((1, 2, 2, 3), (0.5, 0))),  # shift > 0
]


@dataclass(frozen=True)
class MeanCase:
    in_shape: tuple
    axes: tuple
    keep: bool
    qin: tuple = (0.05, 3)
    qout: tuple = (0.03, -5)


MEAN_CASES = [
    MeanCase((1, 4, 5, 3), (1, 2), True),
    MeanCase((2, 3, 3, 4), (1, 2), False, (0.05, -128), (0.01, 127)),
    MeanCase((1, 4, 5, 3), (1, 2), False, (0.05, 3), (0.05, 3)),  # same quantization (still rescaled, as TFLM)
    MeanCase((1, 3, 4, 6), (3,), True, (0.05, -2), (0.05, -2)),
    MeanCase((2, 3, 7), (1,), False),
    MeanCase((1, 3, 2, 4), (0, 1, 2, 3), True, (0.1, 10), (0.002, 0)),  # saturates
    MeanCase((1, 10, 13, 2), (1, 2), True, (0.05, 0), (0.7, 1)),  # count 130, not a power of two
]


def mean_graph(c: MeanCase) -> Graph:
    out = tuple(1 if k in c.axes else d for k, d in enumerate(c.in_shape)) if c.keep else \
        tuple(d for k, d in enumerate(c.in_shape) if k not in c.axes)
    return single_op(OpKind.MEAN, MeanAttrs(c.axes, c.keep), [T(c.in_shape, c.qin)], T(out, c.qout))


def concat_graph(shapes: list, axis: int, consts=()) -> Graph:
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    ins = [T(s, (0.05 * (i + 1), i), const="r" if i in consts else None) for i, s in enumerate(shapes)]
    return single_op(OpKind.CONCATENATION, ConcatAttrs(axis), ins, T(tuple(out), (0.07, 1)))


def pad_graph(shape: tuple, pads: tuple, q: tuple, value=None) -> Graph:
    out = tuple(d + b + e for d, (b, e) in zip(shape, pads))
    extra = []
    if value is not None:
        extra = [Tensor("value", (), "int8", QuantParams.make(q[0], q[1]), np.asarray(value, np.int8))]
    return single_op(OpKind.PAD, PadAttrs(pads), [T(shape, q)], T(out, q), extra)


def plan_graphs() -> dict:
    g = {}
    for i, c in enumerate(POOL_CASES):
        g[f"pool{i}-{c.kind.value}"] = pool_graph(c)
    for i, c in enumerate(BIN_CASES):
        g[f"bin{i}-{c.kind.value}"] = single_op(c.kind, ElementwiseAttrs(c.act), [c.a, c.b], c.out)
    for i, c in enumerate(MEAN_CASES):
        g[f"mean{i}"] = mean_graph(c)
    g["concat-c3"] = concat_graph([(1, 2, 3, 2), (1, 2, 3, 5), (1, 2, 3, 1)], 3, consts=(1,))
    g["concat-h"] = concat_graph([(2, 3, 2, 2), (2, 1, 2, 2)], 1)
    g["concat-rank2-axis0"] = concat_graph([(2, 5), (3, 5)], 0)
    g["pad-hw"] = pad_graph((1, 3, 4, 2), ((0, 0), (1, 2), (2, 1), (0, 0)), (0.05, -7))
    g["padv2-all"] = pad_graph((2, 3, 2, 3), ((1, 0), (0, 1), (1, 1), (2, 1)), (0.05, 100), value=-128)
    g["pad-rank2"] = pad_graph((3, 4), ((2, 1), (0, 3)), (0.05, 127))
    return g


PLAN = plan_graphs()


@pytest.mark.parametrize("name", sorted(PLAN))
def test_c_matches_reference(name):
    check_c_vs_reference(PLAN[name])


def test_reshape_is_an_alias_between_ops():
    """PAD -> RESHAPE -> MEAN: the reshape emits no call and the chain still matches."""
    rng = np.random.default_rng(0)
    q = QuantParams.make(0.05, 2)
    ts = {n: Tensor(n, s, "int8", q) for n, s in
          (("x", (1, 3, 4, 2)), ("p", (1, 5, 4, 2)), ("r", (1, 10, 4)), ("m", (1, 4)))}
    ops = [Op(OpKind.PAD, "pad", ["x"], ["p"], PadAttrs(((0, 0), (1, 1), (0, 0), (0, 0)))),
           Op(OpKind.RESHAPE, "reshape", ["p"], ["r"], ReshapeAttrs()),
           Op(OpKind.MEAN, "mean", ["r"], ["m"], MeanAttrs((1,), False))]
    g = Graph(ts, ops, ["x"], ["m"], name="chain")
    low = lower_op(ops[1], g)
    assert low.alias_of == "p" and low.c_function == "" and low.args == []
    p = rng.integers(-128, 128, size=(1, 5, 4, 2)).astype(np.int8)
    assert np.array_equal(low.reference([p])[0], p.reshape(1, 10, 4))
    check_c_vs_reference(g)


# ---- hand-computed values (independent of the code under test) ---------------------------------


def test_avgpool_counts_only_in_bounds_and_rounds_half_away():
    # 2x2 input, 3x3 SAME window at stride 1: the corner window covers 4 elements, not 9.
    g = single_op(OpKind.AVERAGE_POOL_2D, Pool2DAttrs(3, 3, 1, 1, Padding(1, 1, 1, 1)),
                  [T((1, 2, 2, 1))], T((1, 2, 2, 1)))
    ref = lower_op(g.ops[0], g).reference
    assert ref([np.array([1, 2, 2, 1], np.int8).reshape(1, 2, 2, 1)])[0].ravel().tolist() == [2] * 4  # 6/4 = 1.5 -> 2
    assert ref([np.array([-1, -2, -2, -1], np.int8).reshape(1, 2, 2, 1)])[0].ravel().tolist() == [-2] * 4
    assert ref([np.array([1, 1, 2, 1], np.int8).reshape(1, 2, 2, 1)])[0].ravel().tolist() == [1] * 4  # 5/4


def test_mean_same_quant_rescales_and_add_values():
    g = mean_graph(MeanCase((1, 1, 3, 1), (2,), True, (0.05, 3), (0.05, 3)))
    ref = lower_op(g.ops[0], g).reference
    # TFLM rescales even with shared quantization (test_reduce_ops.py checks it against TFLM): the values
    # minus the zero point average (-4 - 4 - 3) / 3 = -3.67, rounded to -4, plus zero point 3: -1
    assert ref([np.array([-1, -1, 0], np.int8).reshape(1, 1, 3, 1)])[0].item() == -1
    assert ref([np.array([5, 5, 6], np.int8).reshape(1, 1, 3, 1)])[0].item() == 5  # 7/3 = 2.33 -> 2, + 3
    # ADD of equal scales: real = 0.1*(q1-z1) + 0.1*(q2-z2) quantized at 0.2 -> (q1+q2)/2 rounded.
    g = single_op(OpKind.ADD, ElementwiseAttrs(), [T((1, 4), (0.1, 0)), T((1, 4), (0.1, 0))], T((1, 4), (0.2, 0)))
    ref = lower_op(g.ops[0], g).reference
    y = ref([np.array([[10, -10, 127, 3]], np.int8), np.array([[20, -30, 127, 0]], np.int8)])[0]
    assert y.ravel().tolist() == [15, -20, 127, 2]  # 1.5 -> 2 (ties away from zero)


def test_unsupported_cases_name_the_layer():
    g = single_op(OpKind.CONCATENATION, ConcatAttrs(1, A.RELU), [T((1, 2)), T((1, 2))], T((1, 4)))
    with pytest.raises(UnsupportedError, match="layer0"):
        lower_op(g.ops[0], g)
    g = single_op(OpKind.ADD, ElementwiseAttrs(), [T((1, 3)), T((1, 2))], T((1, 3)))
    with pytest.raises(UnsupportedError, match="layer0"):
        lower_op(g.ops[0], g)


# ---- reference vs TFLM ------------------------------------------------------------------------


def _tflm_check(model_bytes: bytes, expect_kinds: set, seeds=(0, 1), samples=()) -> None:
    from oracle import tflm_run_with
    from tflite_micro.python.tflite_micro import runtime
    from tinygen.frontend.tflite import load_tflite
    from tinygen.verify.testing import run_reference

    graph = load_tflite(model_bytes)
    kinds = {op.kind for op in graph.ops}
    assert expect_kinds <= kinds, f"converter gave {sorted(k.value for k in kinds)}"
    for xs in [random_inputs(graph, seed + 10) for seed in seeds] + list(samples):
        interp = runtime.Interpreter.from_bytes(model_bytes, arena_size=4 << 20)  # default is too small
        want = tflm_run_with(interp, xs, n_outputs=len(graph.outputs))
        got = run_reference(graph, xs)
        assert len(want) == len(got)
        for i, (w, g) in enumerate(zip(want, got)):
            w = np.asarray(w).reshape(g.shape)
            assert np.array_equal(w, g), f"output {i} ({graph.outputs[i]}): {int((w != g).sum())} bytes differ"


@pytest.fixture(scope="module")
def keras():
    import keras as k

    return k


def test_tflm_single_input_ops(keras):
    from tfconvert import convert

    k = keras
    x = k.Input((9, 8, 3), batch_size=1)
    outs = [k.layers.AveragePooling2D(3, 2, padding="same")(x),
            k.layers.AveragePooling2D((2, 3), (2, 1), padding="valid")(x),
            k.layers.MaxPooling2D(3, 2, padding="same")(x),
            k.layers.GlobalAveragePooling2D()(x),
            k.layers.GlobalAveragePooling2D(keepdims=True)(x),  # TFLM once special-cased this
            k.layers.ZeroPadding2D(((1, 2), (0, 1)))(x),
            k.ops.mean(x, axis=-1, keepdims=True),
            k.layers.ReLU()(k.layers.AveragePooling2D(2)(x))]
    model = k.Model(x, outs)
    calib = np.random.default_rng(0).normal(0.5, 1.0, (16, 9, 8, 3)).astype(np.float32)
    _tflm_check(convert(model, calib), {OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D, OpKind.MEAN, OpKind.PAD})


def test_tflm_two_input_ops(keras):
    from tfconvert import convert_multi

    k = keras
    shape = (64, 64, 16)  # 65536 elements: room for every (a, b) int8 pair
    a = k.Input(shape, batch_size=1, name="in_a")  # names sort in input order
    b = k.Input(shape, batch_size=1, name="in_b")
    c = k.Input((1, 1, 16), batch_size=1, name="in_c")
    outs = [k.layers.Add()([a, b]),
            k.layers.Subtract()([a, b]),
            k.layers.Multiply()([a, b]),
            k.ops.add(a, c),  # broadcast
            k.ops.subtract(c, b)]
    mul_ac = k.ops.multiply(a, c)
    outs += [mul_ac, k.layers.Concatenate(axis=-1)([a, mul_ac])]  # concat([a, b]) would tie a and b's scales
    model = k.Model([a, b, c], outs)
    rng = np.random.default_rng(0)
    calibs = [rng.normal(0, 1, (8, *shape)), rng.uniform(-3, 1, (8, *shape)), rng.normal(1, 2, (8, 1, 1, 16))]
    grid = np.arange(-128, 128, dtype=np.int8)
    every_pair = [np.repeat(grid, 256).reshape(1, *shape), np.tile(grid, 256).reshape(1, *shape),
                  rng.integers(-128, 128, (1, 1, 1, 16)).astype(np.int8)]
    _tflm_check(convert_multi(model, calibs), {OpKind.ADD, OpKind.SUB, OpKind.MUL, OpKind.CONCATENATION},
                seeds=(0,), samples=[every_pair])


# ---- ADD / SUB multipliers against TFLM over a sweep of scales --------------------------------------

# (s1, s2, s_out, zp1, zp2, zp_out) where forming the three multipliers in float32 (as TFLM's published
# SUB sources do) instead of double changes at least one output over the 65536 int8 pairs. The pinned TFLM
# agrees with double math on every one, for SUB and ADD alike (found by a search over random scales).
_ADDSUB_SPLIT = {
    OpKind.SUB: [(0.0024218305479735136, 0.001114663085900247, 0.003942409064620733, 106, 87, -23),
                 (0.6193708181381226, 0.338388055562973, 0.011645717546343803, -61, 77, 12),
                 (0.006915764417499304, 0.02180718630552292, 0.004857818596065044, -3, 111, -95),
                 (0.1697409600019455, 0.26232728362083435, 0.1851739138364792, 8, 14, -10),
                 (0.0019725540187209845, 0.06164738908410072, 0.0021375888027250767, -42, 4, -64),
                 (0.07240217179059982, 0.41726088523864746, 0.0018348272424191236, -118, 49, -117)],
    OpKind.ADD: [(0.2419770509004593, 0.37907007336616516, 0.040391724556684494, -59, 70, 74),
                 (0.5344498753547668, 0.04106241837143898, 0.3908621668815613, -40, 39, 49),
                 (0.0011257992591708899, 0.002450259169563651, 0.07218333333730698, 19, 15, 94),
                 (0.8983904719352722, 0.915103554725647, 0.9769408702850342, 85, 25, 124)],
}
_GRID = np.arange(-128, 128, dtype=np.int8)


def _addsub_f32_reference(kind: OpKind, case: tuple) -> np.ndarray:
    """Outputs over every (a, b) pair with the multipliers formed in float32 (what tinygen used to do)."""
    from tinygen.quant import qmath

    f32 = np.float32
    s1, s2, so = (f32(s) for s in case[:3])
    twice = f32(2) * max(s1, s2)
    reals = (float(s1 / twice), float(s2 / twice), float(twice / (f32(1 << 20) * so)))
    (m1, h1), (m2, h2), (mo, ho) = (qmath.quantize_multiplier(r) for r in reals)
    a = qmath.multiply_by_quantized_multiplier((np.repeat(_GRID, 256).astype(np.int64) - case[3]) << 20, m1, h1)
    b = qmath.multiply_by_quantized_multiplier((np.tile(_GRID, 256).astype(np.int64) - case[4]) << 20, m2, h2)
    raw = qmath.wrap_int32(a - b if kind == OpKind.SUB else a + b)
    return qmath.requantize(raw, mo, ho, case[5], -128, 127)


def _addsub_sweep() -> list:
    """(kind, case, activation, same_shape): the split cases, then random scales / zero points."""
    rng = np.random.default_rng(2024)
    cases = [(k, c, A.NONE, i % 2 == 0) for k, cs in _ADDSUB_SPLIT.items() for i, c in enumerate(cs)]
    for i in range(44):
        kind = OpKind.SUB if i % 3 else OpKind.ADD
        lo = -4.0 if i % 4 == 0 else -2.5  # some inputs 100x finer than the others
        s1, s2 = (10 ** rng.uniform(lo, 0.5) for _ in range(2))
        s_out = max(s1, s2) * 10 ** rng.uniform(-1.3, 0.6)  # outputs finer or coarser than the inputs
        scales = [float(np.float32(s)) for s in (s1, s2, s_out)]
        zps = [int(z) for z in rng.integers(-128, 128, 3)]
        act = (A.NONE, A.NONE, A.RELU, A.RELU6)[i % 4]
        cases.append((kind, (*scales, *zps), act, i % 2 == 1))
    return cases


def test_tflm_addsub_scale_sweep():
    """Every (a, b) int8 pair through ~60 ADD / SUB ops with random scales and zero points (and the
    cases where float32 multiplier math would differ), in a file written with the scales exactly as
    chosen; TFLM, the reference and the C must agree byte for byte. Same-shape operands take the fast
    table kernel, broadcast (256, 1) - (1, 256) operands the portable one."""
    from oracle import tflm_run_with
    from tflite_micro.python.tflite_micro import runtime
    from tinygen.compiler import lower
    from tinygen.verify.export_tflite import to_bytes
    from tinygen.frontend.tflite import load_tflite
    from tinygen.verify.testing import run_c, run_reference

    sweep = _addsub_sweep()
    tensors, ops, ins, xs, outs = {}, [], [], [], []
    for i, (kind, c, act, same) in enumerate(sweep):
        shapes = ((256, 256), (256, 256)) if same else ((256, 1), (1, 256))
        vals = ((np.repeat(_GRID, 256), np.tile(_GRID, 256)) if same else (_GRID, _GRID))
        for j in range(2):
            name = f"in{i}_{j}"
            tensors[name] = Tensor(name, shapes[j], "int8", QuantParams.make(c[j], c[3 + j]))
            ins.append(name)
            xs.append(vals[j].reshape(shapes[j]))
        tensors[f"y{i}"] = Tensor(f"y{i}", (256, 256), "int8", QuantParams.make(c[2], c[5]))
        ops.append(Op(kind, f"y{i}", [f"in{i}_0", f"in{i}_1"], [f"y{i}"], ElementwiseAttrs(act)))
        outs.append(f"y{i}")
    model = to_bytes(Graph(tensors, ops, ins, outs, name="addsub"))
    graph = load_tflite(model)
    assert list(graph.inputs) == ins and [op.kind for op in graph.ops] == [s[0] for s in sweep]
    assert {"tg_add_s8", "tg_sub_s8", "tg_add_s8_fast"} <= {lop.c_function for lop in lower(graph)}
    interp = runtime.Interpreter.from_bytes(model, arena_size=16 << 20)
    want = tflm_run_with(interp, xs, n_outputs=len(outs))
    ref = run_reference(graph, xs)
    got = run_c(graph, xs)
    for i, (w, r, g) in enumerate(zip(want, ref, got)):
        w = np.asarray(w).reshape(r.shape)
        kind, case = sweep[i][:2]
        assert np.array_equal(r, w), f"{kind.value} {case}: reference differs from TFLM in {int((r != w).sum())}"
        assert np.array_equal(g, w), f"{kind.value} {case}: C differs from TFLM in {int((g != w).sum())}"
        assert len(np.unique(w)) > 2, f"{kind.value} {case}: a near-constant output tests little"
    for i, (kind, case, _, _) in enumerate(sweep[:sum(len(v) for v in _ADDSUB_SPLIT.values())]):
        old = _addsub_f32_reference(kind, case).reshape(256, 256)
        assert not np.array_equal(old, np.asarray(want[i]).reshape(256, 256)), f"{case} does not split the two"


def test_constant_operands_and_pools_keep_their_dtype():
    """BinaryOperands stores a constant operand in the tensor's own dtype (int16 MUL needs no fix-up),
    and pool_reference serves int16 (max starts at INT16_MIN, result int16)."""
    from tinygen.lower.elementwise import BinaryOperands
    from tinygen.lower.pool import pool_reference
    from tinygen.verify.testing import run_c, run_reference

    rng = np.random.default_rng(3)
    q = QuantParams.make
    for dtype, kind in (("int8", OpKind.ADD), ("int16", OpKind.MUL)):
        info = np.iinfo(dtype)
        c = rng.integers(info.min, info.max + 1, (1, 3)).astype(dtype)
        zp = 0 if dtype == "int16" else 5
        tensors = {"x": Tensor("x", (2, 3), dtype, q(0.02, zp)), "c": Tensor("c", (1, 3), dtype, q(0.03, zp), c),
                   "y": Tensor("y", (2, 3), dtype, q(0.05, zp))}
        g = Graph(tensors, [Op(kind, "layer0", ["x", "c"], ["y"], ElementwiseAttrs())], ["x"], ["y"], name="t")
        assert BinaryOperands(g.ops[0], g).const_arrays[0].data.dtype == np.dtype(dtype)
        lop = lower_op(g.ops[0], g)
        assert [a.data.dtype for a in lop.const_arrays] == [np.dtype(dtype)]
        assert np.array_equal(lop.const_arrays[0].data, c.reshape(-1))
        x = rng.integers(info.min, info.max + 1, (2, 3)).astype(dtype)
        assert np.array_equal(run_c(g, [x])[0], run_reference(g, [x])[0])
    attrs = Pool2DAttrs(2, 2, 2, 2, Padding(), A.NONE)
    x = np.full((1, 2, 2, 1), -32768, np.int16)
    out = pool_reference(OpKind.MAX_POOL_2D, x, (1, 1), attrs, (-32768, 32767), np.int16)
    assert out.dtype == np.int16 and out.item() == -32768
    out = pool_reference(OpKind.MAX_POOL_2D, np.full((1, 2, 2, 1), -128, np.int8), (1, 1), attrs, (-128, 127))
    assert out.dtype == np.int8 and out.item() == -128


AVG_BLOCK_CASES = [  # channels in blocks of 16 and 8 on the device path (windows of at most 255 elements)
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 25, 5, 64), (25, 5), (1, 1), False, q=(0.1, -3)),  # KWS: 125
    PoolCase(OpKind.AVERAGE_POOL_2D, (2, 6, 7, 19), (3, 3), (2, 2), True, A.RELU, (0.05, -128)),  # 16 + 3
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 5, 6, 27), (2, 3), (1, 2), True),  # 16 + 8 + 3, partial rows
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 15, 17, 8), (15, 17), (1, 1), False),  # 255: the largest block count
    PoolCase(OpKind.AVERAGE_POOL_2D, (1, 16, 17, 8), (16, 17), (1, 1), False),  # 272: the plain loop
]


@pytest.mark.parametrize("case", range(len(AVG_BLOCK_CASES)))
@pytest.mark.parametrize("kernel_path", ["portable", "device"])
def test_avgpool_channel_blocks_match_reference(case, kernel_path):
    """The device path sums 16 or 8 channels per step in 16-bit lanes: exact at the lane limits (every input
    -128 or 127 over 255 elements) and in the channel tail, and equal to the reference otherwise."""
    from tinygen.verify.testing import run_c, run_reference

    g = pool_graph(AVG_BLOCK_CASES[case])
    shape = g.tensors[g.inputs[0]].shape
    rng = np.random.default_rng(case)
    samples = [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8),
               rng.integers(-128, 128, size=shape).astype(np.int8),
               rng.choice(np.array([-128, 127], np.int8), size=shape)]
    for x in samples:
        ref = run_reference(g, [x])[0]
        got = run_c(g, [x], kernel_path=kernel_path)[0]
        assert np.array_equal(ref.reshape(-1), got.reshape(-1))
