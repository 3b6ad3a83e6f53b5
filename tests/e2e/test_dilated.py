"""Dilated convolutions from Keras through TF's converter: SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND
folded into one dilated conv (frontend/tflite_dilate.py), compiled, and matched byte for byte.

Oracles: desktop TFLite's reference kernels (BUILTIN_REF) on the converted file (TFLM cannot run it:
its SPACE_TO_BATCH_ND pads with uninitialized memory and it keeps the converter's batch-1 static
shapes, see tests/kernels/test_space_batch.py); and TFLM itself on tinygen's export of the folded
graph, where the conv carries its dilation factors (TFLM's conv kernels run dilation natively).
Both kernel paths are checked: the portable C and the device (DSP) branch, emulated on the host.

Plan: Conv2D, DepthwiseConv2D (depth multiplier 1 and 2, 3 and 8 channels: the portable and the SIMD
depthwise) and Conv1D; dilation 2, 3 and (2, 1); SAME and VALID (and Conv1D causal: a PAD ahead);
stride 1; int8 and 16x8; random inputs over the full range, all-min, all-max. Also DepthwiseConv1D,
SeparableConv2D / 1D, a static batch of 2, hand-written chains that must or must not fold, and
`tinygen verify` on a build.

The Conv1D rows have no activation: the converter keeps a Conv1D's ReLU6 out of the conv (the reshape and
BATCH_TO_SPACE_ND sit between them), and a standalone int8 RELU6 whose output is quantized differently
from its input is computed differently by desktop TFLite (it requantizes) and TFLM (it clamps only);
tinygen follows TFLM, so that op cannot be checked against this oracle.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen.compiler import load_model, lower
from tinygen.ir import OpKind
from tinygen.verify import tflite_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

CONVS = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D)


@pytest.fixture(scope="module")
def keras():
    import keras as k

    k.utils.set_random_seed(0)
    return k


def _model(keras, name: str, act: bool):
    """(Keras model, input shape) for one row of the plan. `act`: a ReLU on the first Conv2D (int8: fused;
    16x8: the converter leaves a separate RELU, see test_int16_relu_after_a_dilated_conv_follows_tflm)."""
    L = keras.layers
    kind, pad, d = name.split("_")
    d = (2, 1) if d == "2x1" else int(d)
    if kind == "conv2d":
        shape, layers = (15, 16, 3), [L.Conv2D(8, 3, dilation_rate=d, padding=pad, activation="relu" if act else None),
                                      L.DepthwiseConv2D(3, dilation_rate=d, padding=pad)]
    elif kind == "dwmult":
        shape, layers = (12, 10, 3), [L.DepthwiseConv2D((3, 2), dilation_rate=d, padding=pad, depth_multiplier=2),
                                      L.Conv2D(4, (2, 3), dilation_rate=d, padding=pad, use_bias=False)]
    else:  # conv1d
        shape, layers = (24, 4), [L.Conv1D(8, 3, dilation_rate=d, padding=pad),
                                  L.Conv1D(5, 2, dilation_rate=d, padding=pad)]
    return keras.Sequential([keras.Input(shape)] + layers), shape


def _samples(graph, seed: int) -> list:
    t = graph.tensors[graph.inputs[0]]
    info = np.iinfo(np.dtype(t.dtype))
    rng = np.random.default_rng(seed)
    xs = [rng.integers(int(info.min), int(info.max), size=t.shape, endpoint=True).astype(t.dtype) for _ in range(3)]
    return xs + [np.full(t.shape, info.min, t.dtype), np.full(t.shape, info.max, t.dtype)]


def _check(graph, oracle, samples: list) -> None:
    lowered = lower(graph)
    models = {path: host_model_for(graph, kernel_path=path) for path in ("portable", "device")}
    for k, x in enumerate(samples):
        want = oracle(x)
        got_ref = np.asarray(run_reference(graph, [x], lowered)[0]).reshape(want.shape)
        assert got_ref.tobytes() == want.tobytes(), f"sample {k}: NumPy reference"
        for path, model in models.items():
            got = np.asarray(model([x])[0]).reshape(want.shape)
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), \
                f"sample {k}: {path} C differs in {int(np.count_nonzero(got != want))} values"


PLAN = [f"{k}_{p}_{d}" for k in ("conv2d", "dwmult", "conv1d") for p in ("same", "valid") for d in ("2", "3")]
PLAN += ["conv2d_same_2x1", "conv1d_causal_2"]
# 16x8: every row but the dilation-3 depthwise / Conv1D ones (the int8 rows cover those shapes)
PARAMS = [(n, "int8") for n in PLAN] + [(n, "int16") for n in PLAN if not (n.endswith("_3") and n.startswith(("dwmult", "conv1d")))]


@pytest.mark.parametrize("name,mode", PARAMS, ids=[f"{n}-{m}" for n, m in PARAMS])
def test_dilated_keras_model_is_folded_and_bit_exact(keras, name, mode, tmp_path):
    from oracle import tflm_run
    from tfconvert import convert

    model, shape = _model(keras, name, mode == "int8")
    calib = np.random.default_rng(1).normal(0, 1, size=(16, *shape)).astype(np.float32)
    path = tmp_path / f"{name}_{mode}.tflite"
    path.write_bytes(convert(model, calib, mode))
    assert "SPACE_TO_BATCH_ND" in tflite_ref.builtin_names(path.read_bytes())
    graph = load_model(str(path))
    kinds = [op.kind for op in graph.ops]
    assert OpKind.SPACE_TO_BATCH_ND not in kinds and OpKind.BATCH_TO_SPACE_ND not in kinds, kinds
    convs = [op for op in graph.ops if op.kind in CONVS]
    assert len(convs) == 2 and all(max(op.attrs.dilation_h, op.attrs.dilation_w) > 1 for op in convs)
    data = path.read_bytes()
    samples = _samples(graph, 7)
    _check(graph, lambda x: tflite_ref.run(data, [x])[0], samples)
    exported = to_bytes(graph)  # the folded graph as .tflite: TFLM runs dilation in its own conv kernels
    assert "SPACE_TO_BATCH_ND" not in tflite_ref.builtin_names(exported)
    _check(graph, lambda x: tflm_run(exported, [x])[0], samples[:2] + samples[3:])


def _chain_graph(paddings: tuple, crops: tuple, in_hw: int = 9) -> "ir.Graph":
    """SPACE_TO_BATCH_ND(2) -> 3x3 VALID CONV_2D -> BATCH_TO_SPACE_ND(2) on a (1, in_hw, in_hw, 3) int8
    input, with static shapes that agree (as tinygen's exporter writes them)."""
    from tinygen import ir
    from tinygen.ops.space_batch import SpaceBatchAttrs, batch_to_space_shape, space_to_batch_shape

    rng = np.random.default_rng(4)
    q = ir.QuantParams.make
    x_shape = (1, in_hw, in_hw, 3)
    s_shape = space_to_batch_shape(x_shape, (2, 2), paddings)
    c_shape = (s_shape[0], s_shape[1] - 2, s_shape[2] - 2, 4)
    y_shape = batch_to_space_shape(c_shape, (2, 2), crops)
    w_scale = rng.uniform(0.002, 0.01, 4)
    t = {"x": ir.Tensor("x", x_shape, "int8", q(0.04, -3)), "s": ir.Tensor("s", s_shape, "int8", q(0.04, -3)),
         "w": ir.Tensor("w", (4, 3, 3, 3), "int8", q(w_scale, 0, 0), rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)),
         "b": ir.Tensor("b", (4,), "int32", q(w_scale * 0.04, 0, 0), rng.integers(-900, 900, 4).astype(np.int32)),
         "c": ir.Tensor("c", c_shape, "int8", q(0.11, 7)), "y": ir.Tensor("y", y_shape, "int8", q(0.11, 7))}
    ops = [ir.Op(OpKind.SPACE_TO_BATCH_ND, "s2b", ["x"], ["s"], SpaceBatchAttrs((2, 2), paddings)),
           ir.Op(OpKind.CONV_2D, "conv", ["s", "w", "b"], ["c"], ir.Conv2DAttrs(1, 1)),
           ir.Op(OpKind.BATCH_TO_SPACE_ND, "b2s", ["c"], ["y"], SpaceBatchAttrs((2, 2), crops))]
    return ir.Graph(t, ops, ["x"], ["y"], name="chain")


@pytest.mark.parametrize("paddings,crops,folds", [
    (((2, 3), (2, 3)), ((0, 1), (0, 1)), True),    # SAME, dilation 2, on 9x9
    (((0, 1), (0, 1)), ((0, 1), (0, 1)), True),    # VALID: padded to a multiple of the block, cropped back
    (((1, 2), (1, 2)), ((0, 1), (0, 1)), False),   # leading padding 1: neither SAME (2) nor VALID
    (((2, 3), (2, 3)), ((1, 0), (1, 0)), False),   # crops that shift the window
])
def test_only_same_or_valid_chains_fold(paddings, crops, folds, tmp_path):
    """A chain folds exactly when it is the dilated conv with SAME or VALID padding; any other chain stays
    as three ops. Both compile and equal desktop TFLite's reference kernels."""
    path = tmp_path / "chain.tflite"
    path.write_bytes(to_bytes(_chain_graph(paddings, crops)))
    graph = load_model(str(path))
    kinds = [op.kind for op in graph.ops]
    if folds:
        assert kinds == [OpKind.CONV_2D] and (graph.ops[0].attrs.dilation_h, graph.ops[0].attrs.dilation_w) == (2, 2)
    else:
        assert kinds == [OpKind.SPACE_TO_BATCH_ND, OpKind.CONV_2D, OpKind.BATCH_TO_SPACE_ND]
    data = path.read_bytes()
    _check(graph, lambda x: tflite_ref.run(data, [x])[0], _samples(graph, 3))


def test_tinygen_verify_uses_the_tflite_reference_oracle(keras, tmp_path):
    """`tinygen verify` on a build of a converted dilated model runs desktop TFLite's reference kernels
    (not TFLM), names them, and finds the build bit-exact."""
    import tinygen
    from tfconvert import convert
    from tinygen.verify.compare import verify_out

    model, shape = _model(keras, "conv2d_same_2", True)
    path = tmp_path / "dil.tflite"
    path.write_bytes(convert(model, np.random.default_rng(1).normal(0, 1, size=(16, *shape)).astype(np.float32)))
    out = tmp_path / "build"
    tinygen.compile(str(path), out, name="dil")
    result = verify_out(out, samples=4)
    assert result["ok"] and result["oracles"]["tflm"] == 0 and result["diff_reference"] == 0, result["lines"]
    text = "\n".join(result["lines"])
    assert "desktop TFLite reference kernels" in text and "BUILTIN_REF" in text and "issue 1646" in text


def test_conv1d_relu6_follows_tflm_and_verify_says_why_desktop_differs(keras, tmp_path):
    """A dilated Conv1D with ReLU6: the converter leaves RELU6 after BATCH_TO_SPACE_ND, quantized unlike its
    input. tinygen equals TFLM on the folded export (TFLM clamps only); desktop TFLite requantizes, and
    the desktop oracle's description names that RELU6 so a `tinygen verify` difference is explained."""
    from oracle import tflm_run
    from tfconvert import convert

    L = keras.layers
    model = keras.Sequential([keras.Input((24, 4)), L.Conv1D(8, 3, dilation_rate=2, padding="same", activation="relu6")])
    path = tmp_path / "c1r6.tflite"
    path.write_bytes(convert(model, np.random.default_rng(1).normal(0, 1, size=(16, 24, 4)).astype(np.float32)))
    data = path.read_bytes()
    assert "RELU6" in tflite_ref.builtin_names(data)
    assert "expect differences after RELU6" in tflite_ref.caveats(data)
    graph = load_model(str(path))
    exported = to_bytes(graph)
    assert tflite_ref.caveats(exported) and not tflite_ref.tflm_unreliable(exported)
    _check(graph, lambda x: tflm_run(exported, [x])[0], _samples(graph, 2))


def _more_model(keras, name: str):
    L = keras.layers
    return {
        "dwconv1d": lambda: keras.Sequential([keras.Input((20, 6)), L.DepthwiseConv1D(3, dilation_rate=2, padding="same")]),
        "separable2d": lambda: keras.Sequential([keras.Input((12, 12, 4)),
                                                 L.SeparableConv2D(8, 3, dilation_rate=2, padding="same")]),
        "separable1d": lambda: keras.Sequential([keras.Input((20, 4)),
                                                 L.SeparableConv1D(6, 3, dilation_rate=3, padding="valid")]),
        "batch2": lambda: keras.Sequential([keras.Input((10, 10, 3), batch_size=2),
                                            L.Conv2D(4, 3, dilation_rate=2, padding="same")]),
    }[name]()


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("name", ["dwconv1d", "separable2d", "separable1d", "batch2"])
def test_more_dilated_layers_fold(keras, name, mode, tmp_path):
    """DepthwiseConv1D, SeparableConv2D / 1D (the depthwise half is dilated), and a static batch of 2, for
    which TF's converter writes the dilated conv itself (it leaves the chain only with a dynamic batch)."""
    from tfconvert import convert

    model = _more_model(keras, name)
    shape = tuple(model.inputs[0].shape[1:])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(convert(model, np.random.default_rng(1).normal(0, 1, size=(8, *shape)).astype(np.float32), mode))
    data = path.read_bytes()
    assert ("SPACE_TO_BATCH_ND" in tflite_ref.builtin_names(data)) == (name != "batch2")
    graph = load_model(str(path))
    convs = [op for op in graph.ops if op.kind in CONVS]
    assert not {OpKind.SPACE_TO_BATCH_ND, OpKind.BATCH_TO_SPACE_ND} & {op.kind for op in graph.ops}
    assert sum(max(op.attrs.dilation_h, op.attrs.dilation_w) > 1 for op in convs) == 1
    _check(graph, lambda x: tflite_ref.run(data, [x])[0], _samples(graph, 5))


def test_int16_relu_after_a_dilated_conv_follows_tflm(keras, tmp_path):
    """16x8 Conv2D(relu, dilation 2): the converter leaves RELU after BATCH_TO_SPACE_ND, rescaling. tinygen
    equals TFLM on the folded export on every sample; desktop TFLite rounds that int16 RELU differently
    (at most 1 LSB, and the desktop oracle's description names the RELU)."""
    from oracle import tflm_run
    from tfconvert import convert

    model, shape = _model(keras, "conv2d_valid_3", True)
    path = tmp_path / "relu16.tflite"
    path.write_bytes(convert(model, np.random.default_rng(1).normal(0, 1, size=(16, *shape)).astype(np.float32),
                             "int16"))
    data = path.read_bytes()
    graph = load_model(str(path))
    assert OpKind.RELU in [op.kind for op in graph.ops]
    exported = to_bytes(graph)
    samples = _samples(graph, 7)
    _check(graph, lambda x: tflm_run(exported, [x])[0], samples)
    model_c = host_model_for(graph)
    for x in samples:
        got = np.asarray(model_c([x])[0]).astype(np.int64)
        assert np.abs(got - tflite_ref.run(data, [x])[0].astype(np.int64).reshape(got.shape)).max() <= 1
    relu = next(op for op in graph.ops if op.kind == OpKind.RELU)
    if graph.tensors[relu.inputs[0]].quant != graph.tensors[relu.outputs[0]].quant:
        assert "int16 RELU" in tflite_ref.caveats(data)


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_keras_dilation_through_tinygen_ptq_equals_tflm(keras, activations, tmp_path):
    """The same layers through tinygen's own Keras frontend and PTQ (no SPACE_TO_BATCH_ND ever): the dilated
    convs, exported to .tflite with their dilation factors, run on TFLM; `tinygen verify` finds the build
    bit-exact with TFLM and the NumPy reference."""
    import tinygen
    from tinygen.verify.compare import verify_out

    L = keras.layers
    model = keras.Sequential([keras.Input((14, 13, 3)),
                              L.Conv2D(8, 3, dilation_rate=2, padding="same", activation="relu"),
                              L.DepthwiseConv2D(3, dilation_rate=(3, 2), padding="valid"),
                              L.Conv2D(4, (3, 1), dilation_rate=(2, 1), padding="same")])
    calib = np.random.default_rng(0).normal(0, 1, size=(32, 14, 13, 3)).astype(np.float32)
    out = tmp_path / "build"
    tinygen.compile(model, out, calibration=calib, activations=activations, name="kdil")
    result = verify_out(out, samples=5)
    assert result["ok"] and result["oracles"]["tflm"] == 0 and result["diff_reference"] == 0, result["lines"]
    assert "TFLM interpreter" in result["lines"][1]
