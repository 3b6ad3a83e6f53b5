"""Conv-family int8 kernels: C vs NumPy reference over a plan of cases, and reference vs TFLM."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinygen.errors import UnsupportedError
from tinygen.ir import (Activation, Conv2DAttrs, DepthwiseConv2DAttrs, FullyConnectedAttrs, Graph, Op, OpKind,
                        Padding, QuantParams, Tensor, same_padding, valid_out)
from tinygen.lower.base import lower_op

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
KWS = MODELS / "mlperf" / "kws" / "kws_ref_model.tflite"


# ---- plan of cases (C vs reference) -------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: OpKind
    in_shape: tuple  # NHWC, or (batches, accum) for FC
    out_c: int = 4  # conv / FC output channels; depth multiplier M for depthwise via `mult`
    kernel: tuple = (3, 3)
    stride: tuple = (1, 1)
    dilation: tuple = (1, 1)
    same: bool = True
    mult: int = 1  # depth multiplier
    groups: int = 1
    zp_in: int = 3
    zp_out: int = -5
    per_channel: bool = True
    bias: bool = True
    act: Activation = Activation.NONE
    saturate: bool = False  # all-+-127 weights and a tiny output scale
    w_zp: int = 0  # FC per-tensor weight zero point


CONV_CASES = [
    Case(OpKind.CONV_2D, (1, 7, 6, 3)),
    Case(OpKind.CONV_2D, (1, 7, 6, 3), stride=(2, 2), same=True, act=Activation.RELU),
    Case(OpKind.CONV_2D, (1, 8, 8, 2), stride=(2, 2), same=False, bias=False),
    Case(OpKind.CONV_2D, (1, 9, 7, 3), dilation=(2, 2), same=True, act=Activation.RELU6),
    Case(OpKind.CONV_2D, (1, 9, 7, 3), kernel=(1, 3), dilation=(1, 2), same=False, zp_in=-128, zp_out=127),
    Case(OpKind.CONV_2D, (1, 6, 9, 2), kernel=(3, 1), stride=(1, 2), zp_in=127, zp_out=-128),
    Case(OpKind.CONV_2D, (2, 5, 4, 8), out_c=6, kernel=(1, 1)),  # 1x1 GEMM path, batches 2
    Case(OpKind.CONV_2D, (1, 5, 4, 8), out_c=6, kernel=(1, 1), per_channel=False, bias=False),
    Case(OpKind.CONV_2D, (1, 6, 6, 4), out_c=6, kernel=(1, 1), stride=(2, 2), same=False),
    Case(OpKind.CONV_2D, (1, 6, 6, 4), out_c=6, groups=2),
    Case(OpKind.CONV_2D, (1, 5, 5, 16), out_c=5, saturate=True),
    Case(OpKind.CONV_2D, (1, 5, 5, 3), per_channel=False, zp_in=-128, act=Activation.RELU_N1_TO_1),
]
DW_CASES = [
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 7, 6, 4)),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 7, 6, 3), mult=2, stride=(2, 2), act=Activation.RELU),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 8, 7, 2), mult=2, same=False, bias=False, zp_in=-128, zp_out=127),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 9, 9, 3), dilation=(2, 2), act=Activation.RELU6, zp_in=127),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 6, 8, 4), kernel=(1, 3), stride=(1, 2), same=False, per_channel=False),
    Case(OpKind.DEPTHWISE_CONV_2D, (2, 5, 5, 3), kernel=(5, 2), zp_out=-128),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 5, 5, 4), saturate=True),
]
FC_CASES = [
    Case(OpKind.FULLY_CONNECTED, (1, 20), out_c=7, per_channel=False),
    Case(OpKind.FULLY_CONNECTED, (3, 16), out_c=5, per_channel=False, act=Activation.RELU, zp_in=-128),
    Case(OpKind.FULLY_CONNECTED, (1, 33), out_c=9, per_channel=True, bias=False, zp_in=127, zp_out=127),
    Case(OpKind.FULLY_CONNECTED, (2, 12), out_c=4, per_channel=False, w_zp=3, act=Activation.RELU6),
    Case(OpKind.FULLY_CONNECTED, (1, 64), out_c=6, per_channel=False, saturate=True, zp_out=-128),
]


def _out_size(n: int, k: int, s: int, d: int, same: bool) -> tuple:
    """(pad before, pad after, output size) the TFLite way."""
    if same:
        return same_padding(n, k, s, d)
    return 0, 0, valid_out(n, k, s, d)


def add_case(graph: Graph, case: Case, idx: int, rng) -> None:
    """Append one op of `case` reading graph input x{idx} and writing graph output y{idx}."""
    x = f"x{idx}"
    in_scale = 0.05
    if case.kind == OpKind.FULLY_CONNECTED:
        batches, accum = case.in_shape
        out_c, taps = case.out_c, accum
        w_shape, w_axis, y_shape = (out_c, accum), 0, (batches, out_c)
        attrs = FullyConnectedAttrs(case.act)
    else:
        n, h, w, c = case.in_shape
        kh, kw = case.kernel
        pt, pb, oh = _out_size(h, kh, case.stride[0], case.dilation[0], case.same)
        pl, pr, ow = _out_size(w, kw, case.stride[1], case.dilation[1], case.same)
        pad = Padding(pt, pb, pl, pr)
        if case.kind == OpKind.CONV_2D:
            out_c, taps = case.out_c, kh * kw * c // case.groups
            w_shape, w_axis = (out_c, kh, kw, c // case.groups), 0
            attrs = Conv2DAttrs(case.stride[0], case.stride[1], case.dilation[0], case.dilation[1], pad, case.act)
        else:
            out_c, taps = c * case.mult, kh * kw
            w_shape, w_axis = (1, kh, kw, out_c), 3
            attrs = DepthwiseConv2DAttrs(case.stride[0], case.stride[1], case.mult, case.dilation[0],
                                         case.dilation[1], pad, case.act)
        y_shape = (n, oh, ow, out_c)
    if case.saturate:
        wdata = rng.choice(np.array([-127, 127], dtype=np.int8), size=w_shape)
        w_scales = np.full(out_c, 0.05)
        out_scale = 0.01
    else:
        wdata = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
        w_scales = rng.uniform(0.002, 0.02, size=out_c) if case.per_channel else np.array([0.01])
        out_scale = in_scale * float(np.mean(w_scales)) * 127 * np.sqrt(taps) * 0.5
    wq = QuantParams.make(w_scales, [case.w_zp] * len(w_scales), w_axis)
    t = graph.tensors
    t[x] = Tensor(x, case.in_shape, "int8", QuantParams.make(in_scale, case.zp_in))
    t[f"w{idx}"] = Tensor(f"w{idx}", w_shape, "int8", wq, wdata)
    inputs = [x, f"w{idx}"]
    if case.bias:
        t[f"b{idx}"] = Tensor(f"b{idx}", (out_c,), "int32", QuantParams.make(in_scale * w_scales, 0, 0),
                              rng.integers(-3000, 3000, size=out_c).astype(np.int32))
        inputs.append(f"b{idx}")
    t[f"y{idx}"] = Tensor(f"y{idx}", y_shape, "int8", QuantParams.make(out_scale, case.zp_out))
    graph.ops.append(Op(case.kind, f"{case.kind.value.lower()}_{idx}", inputs, [f"y{idx}"], attrs))
    graph.inputs.append(x)
    graph.outputs.append(f"y{idx}")


def build(cases: list, seed: int = 0) -> Graph:
    g = Graph({}, [], [], [], name="conv_cases")
    rng = np.random.default_rng(seed)
    for i, case in enumerate(cases):
        add_case(g, case, i, rng)
    return g


def sample_inputs(graph: Graph, rng, fill=None) -> list:
    out = []
    for name in graph.inputs:
        shape = graph.tensors[name].shape
        out.append(np.full(shape, fill, np.int8) if fill is not None
                   else rng.integers(-128, 128, size=shape, dtype=np.int8))
    return out


@pytest.mark.parametrize("cases", [CONV_CASES, DW_CASES, FC_CASES], ids=["conv2d", "depthwise", "fc"])
def test_c_matches_reference(cases):
    from tinygen.verify.testing import run_c, run_reference

    graph = build(cases)
    rng = np.random.default_rng(1)
    for fill in (None, None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        want = run_reference(graph, xs)
        got = run_c(graph, xs)
        for i, (case, w, g) in enumerate(zip(cases, want, got)):
            assert g.dtype == np.int8 and g.shape == w.shape
            bad = int(np.count_nonzero(w != g))
            assert bad == 0, f"case {i} {case} fill={fill}: {bad} of {w.size} bytes differ"


def test_saturation_cases_saturate():
    """The saturation cases must actually hit both clamp bounds (else they test nothing)."""
    cases = [c for c in CONV_CASES + DW_CASES + FC_CASES if c.saturate]
    graph = build(cases)
    from tinygen.verify.testing import run_reference

    outs = run_reference(graph, sample_inputs(graph, np.random.default_rng(2)))
    for case, y in zip(cases, outs):
        assert (y == -128).any() and (y == 127).any(), case


def test_reference_matches_naive_loops():
    """Independent scalar check of the vectorized conv / depthwise reference on small cases."""
    from tinygen.quant import qmath

    cases = [CONV_CASES[3], CONV_CASES[9], DW_CASES[1], DW_CASES[3]]
    graph = build(cases, seed=5)
    rng = np.random.default_rng(3)
    from tinygen.lower import conv as conv_kernels

    portable = {OpKind.CONV_2D: conv_kernels.Conv2DKernel(),
                OpKind.DEPTHWISE_CONV_2D: conv_kernels.DepthwiseConv2DKernel()}
    for op in graph.ops:
        lop = portable[op.kind].lower(op, graph)  # the portable lowering's mult/shift arrays
        x = rng.integers(-128, 128, size=graph.tensors[op.inputs[0]].shape, dtype=np.int8)
        got = lop.reference([x])[0]
        w = graph.tensors[op.inputs[1]].data.astype(np.int64)
        b = graph.tensors[op.inputs[2]].data if len(op.inputs) > 2 else None
        mult, shift = lop.const_arrays[0].data, lop.const_arrays[1].data
        a, yq = op.attrs, graph.tensors[op.outputs[0]]
        n, oh, ow, oc_n = yq.shape
        _, h, wd, c = x.shape
        kh, kw = w.shape[1], w.shape[2]
        lo, hi = qmath.activation_range(a.activation, yq.scale, yq.zero_point, -128, 127)
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(oc_n):
                    acc = 0
                    for fy in range(kh):
                        for fx in range(kw):
                            iy = oy * a.stride_h - a.padding.top + fy * a.dilation_h
                            ix = ox * a.stride_w - a.padding.left + fx * a.dilation_w
                            if not (0 <= iy < h and 0 <= ix < wd):
                                continue
                            if op.kind == OpKind.CONV_2D:
                                fi = w.shape[3]
                                g0 = (oc // (oc_n // (c // fi))) * fi
                                acc += int(np.dot(x[0, iy, ix, g0:g0 + fi].astype(np.int64) - x_zp(graph, op),
                                                  w[oc, fy, fx]))
                            else:
                                ic = oc // a.depth_multiplier
                                acc += (int(x[0, iy, ix, ic]) - x_zp(graph, op)) * int(w[0, fy, fx, oc])
                    acc += int(b[oc]) if b is not None else 0
                    k = oc if len(mult) > 1 else 0
                    v = int(qmath.multiply_by_quantized_multiplier(acc, int(mult[k]), int(shift[k])))
                    want = min(max(v + yq.zero_point, lo), hi)
                    assert got[0, oy, ox, oc] == want, (op.name, oy, ox, oc)


def x_zp(graph: Graph, op: Op) -> int:
    return graph.tensors[op.inputs[0]].zero_point


def test_requant_products_follow_tflm():
    """Conv multiplies scales in double; per-tensor FC first multiplies s_in * s_w in float32."""
    from tinygen.lower.conv import conv_requant, fc_requant
    from tinygen.quant.qmath import quantize_multiplier

    s_in, s_w, s_out = np.float32(0.0123457), np.float32(0.00987654), np.float32(0.0301)
    x = Tensor("x", (1, 4), "int8", QuantParams.make(s_in, 0))
    w = Tensor("w", (3, 4), "int8", QuantParams.make(s_w, 0), np.zeros((3, 4), np.int8))
    y = Tensor("y", (1, 3), "int8", QuantParams.make(s_out, 0))
    op = Op(OpKind.FULLY_CONNECTED, "fc", ["x", "w"], ["y"], FullyConnectedAttrs())
    rq = fc_requant(op, x, w, y, 3)
    assert (int(rq.mult[0]), int(rq.shift[0])) == quantize_multiplier(float(s_in * s_w) / float(s_out))
    rq = conv_requant(op, x, w, y, 3, 0)
    assert (int(rq.mult[0]), int(rq.shift[0])) == quantize_multiplier(float(s_in) * float(s_w) / float(s_out))


def test_unsupported_configs_name_the_layer():
    graph = build([CONV_CASES[0]])
    graph.tensors["w0"].quant = QuantParams.make([0.01] * 4, [1] * 4, 0)
    with pytest.raises(UnsupportedError, match="conv_2d_0"):
        lower_op(graph.ops[0], graph)
    graph = build([DW_CASES[0]])
    graph.tensors["w0"].quant = QuantParams.make([0.01] * 4, 0, 0)  # wrong axis
    with pytest.raises(UnsupportedError, match="depthwise_conv_2d_0"):
        lower_op(graph.ops[0], graph)


def test_macs_and_fast_path():
    graph = build([CONV_CASES[6], CONV_CASES[8], DW_CASES[1], FC_CASES[1]])
    lops = [lower_op(op, graph) for op in graph.ops]
    assert lops[0].macs == 2 * 5 * 4 * 6 * 8 and lops[0].pointwise and lops[0].notes["path"] == "1x1 gemm"
    assert not lops[1].pointwise and lops[1].notes["path"] == "generic"
    assert lops[2].macs == 1 * 4 * 3 * 6 * 9
    assert lops[3].macs == 3 * 5 * 16


# ---- reference vs TFLM on converted Keras models --------------------------------------------------


def _tflm_vs_reference(model_bytes: bytes, n_random: int = 2):
    from oracle import tflm_interpreter, tflm_run_with
    from tinygen.frontend.tflite import load_tflite
    from tinygen.verify.testing import run_reference

    graph = load_tflite(model_bytes)
    interp = tflm_interpreter(model_bytes)
    shape = graph.tensors[graph.inputs[0]].shape
    rng = np.random.default_rng(7)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int8) for _ in range(n_random)]
    xs += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    for x in xs:
        want = tflm_run_with(interp, [x])[0]
        got = run_reference(graph, [x])[0]
        assert got.shape == tuple(want.reshape(got.shape).shape)
        bad = int(np.count_nonzero(got != want.reshape(got.shape)))
        assert bad == 0, f"{bad} of {got.size} bytes differ from TFLM"
    return graph


@pytest.fixture(scope="module")
def keras():
    import keras as k

    k.utils.set_random_seed(0)
    return k


def _convert(model, in_shape, seed=0):
    from tfconvert import convert

    calib = np.random.default_rng(seed).normal(0, 1, size=(16, *in_shape)).astype(np.float32)
    return convert(model, calib)


def test_conv_chain_vs_tflm(keras):
    """Conv2D / DepthwiseConv2D chain: strides, SAME / VALID, depth multiplier, relu / relu6, no bias.

    TF 2.21 converts Keras dilation to SPACE_TO_BATCH_ND + conv + BATCH_TO_SPACE_ND, so dilation is
    covered by the C-vs-reference plan and the scalar loop check instead.
    """
    L = keras.layers
    shape = (14, 16, 3)
    m = keras.Sequential([
        keras.Input(shape),
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu6"),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu"),
        L.Conv2D(6, (1, 3), padding="valid", use_bias=False),
        L.DepthwiseConv2D((3, 2), strides=(2, 1), padding="valid", use_bias=False),
        L.Conv2D(5, 1, activation="relu"),
        L.DepthwiseConv2D(3, padding="same"),
    ])
    graph = _tflm_vs_reference(_convert(m, shape))
    kinds = {op.kind for op in graph.ops}
    assert {OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D} <= kinds


def test_dense_chain_vs_tflm(keras):
    L = keras.layers
    m = keras.Sequential([keras.Input((24,)), L.Dense(16, activation="relu"), L.Dense(10, use_bias=False),
                          L.Dense(7, activation="relu6")])
    graph = _tflm_vs_reference(_convert(m, (24,)))
    assert sum(op.kind == OpKind.FULLY_CONNECTED for op in graph.ops) == 3


# ---- a real model: MLPerf Tiny KWS (DS-CNN) ------------------------------------------------------


def _kws():
    if not MODELS.is_dir():
        pytest.skip("shared models folder is absent")
    from tinygen.frontend.tflite import load_tflite

    return load_tflite(KWS), np.load(KWS.parent / "sample_input_int8.npy")


def test_kws_each_layer_vs_tflm():
    """Each CONV / DW / FC layer of KWS, fed TFLM's own input tensor, reproduces TFLM's output tensor."""
    import tflite
    from tflite_micro.python.tflite_micro import runtime

    graph, sample = _kws()
    data = KWS.read_bytes()
    sg = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    index = {sg.Tensors(i).Name().decode(): i for i in range(sg.TensorsLength())}
    interp = runtime.Interpreter.from_bytes(data, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    interp.set_input(sample, 0)
    interp.invoke()

    def tflm_tensor(name):
        t = interp.GetTensor(index[name], 0)
        return np.asarray(t["tensor_data"]).reshape(graph.tensors[name].shape)

    checked = 0
    for op in graph.ops:
        if op.kind not in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
            continue
        got = lower_op(op, graph).reference([tflm_tensor(op.inputs[0])])[0]
        want = tflm_tensor(op.outputs[0])
        assert np.array_equal(got, want), f"layer '{op.name}': {np.count_nonzero(got != want)} bytes differ"
        checked += 1
    assert checked == 10  # 5 conv + 4 depthwise + 1 dense


def test_kws_end_to_end_vs_tflm():
    """Whole KWS model: NumPy references and generated C both equal TFLM on the real sample and on all 127."""
    from oracle import tflm_run
    from tinygen.verify.testing import run_c, run_reference

    graph, sample = _kws()
    for x in (sample, np.full(sample.shape, 127, np.int8)):
        want = tflm_run(KWS, [x])[0]
        assert np.array_equal(run_reference(graph, [x])[0].reshape(want.shape), want)
        assert np.array_equal(run_c(graph, [x])[0].reshape(want.shape), want)


@pytest.mark.parametrize("model", ["tflm/hello_world/hello_world_int8.tflite", "mlperf/ad/ad01_int8.tflite"])
def test_bias_stored_as_a_column_is_read_as_a_vector(model, models_dir):
    """A bias of shape (n, 1) holds n values, as TFLM reads it: C and reference agree, nothing broadcasts."""
    import dataclasses

    from tinygen.compiler import load_model
    from tinygen.verify.testing import run_c, run_reference

    graph = load_model(models_dir / model)
    for op in graph.ops:
        if op.kind.value == "FULLY_CONNECTED" and len(op.inputs) > 2 and op.inputs[2]:
            b = graph.tensors[op.inputs[2]]
            graph.tensors[b.name] = dataclasses.replace(b, shape=(b.size, 1), data=b.data.reshape(-1, 1))
    x = [np.random.default_rng(0).integers(-128, 128, size=graph.tensors[t].shape).astype(np.int8)
         for t in graph.inputs]
    want = run_reference(graph, x)
    got = run_c(graph, x)
    assert all(np.array_equal(a.reshape(b.shape), b) for a, b in zip(got, want))


def test_accumulator_bound_is_exact_for_corrupt_ranges_and_biases(models_dir):
    """A bias near 2^63 or an int64 activation range must be refused by bounds.check, never wrap or crash."""
    import dataclasses

    from tinygen.lower import bounds
    from tinygen.compiler import load_model
    from tinygen.errors import UnsupportedError

    graph = load_model(models_dir / "tflm/hello_world/hello_world_int8.tflite")
    op = graph.ops[0]
    b = graph.tensors[op.inputs[2]]
    huge = dataclasses.replace(b, dtype="int64", data=np.full(b.data.shape, (1 << 63) - 1, np.int64))
    g1 = graph.copy()
    g1.tensors[b.name] = huge
    with pytest.raises(UnsupportedError, match=r"accumulator can reach 9223372036854\d{6} "):
        bounds.check(g1)
    g2 = graph.copy()
    x = g2.tensors[op.inputs[0]]
    g2.tensors[x.name] = dataclasses.replace(x, dtype="int64")
    with pytest.raises(UnsupportedError, match="accumulator can reach"):
        bounds.check(g2)
    assert bounds.check(graph)[op.name]["safe"]
