"""Graph passes: BN folding, no-op and reshape folding, ReLU fusion; float outputs are preserved."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import keras

from tinygen import ir, passes  # noqa: E402
from tinygen.quant import float_ref  # noqa: E402
from tinygen.frontend.keras import load_keras  # noqa: E402
from tinygen.ir import Activation, Graph, Op, OpKind, Tensor  # noqa: E402

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
L = keras.layers

PAIRS = [("kws/kws_ref_model_rebuilt.keras", "kws/kws_ref_model.tflite"),
         ("vww/vww_96.h5", "vww/vww_96_int8.tflite"),
         ("ic/pretrainedResnet.h5", "ic/pretrainedResnet_quant.tflite"),
         ("ad/ad01.h5", "ad/ad01_int8.tflite"),
         ("sww/str_ww_ref_model.h5", "sww/str_ww_ref_model.tflite")]


def tflite_op_counts(path: Path) -> Counter:
    import tflite

    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    sg = model.Subgraphs(0)
    counts = Counter()
    for i in range(sg.OperatorsLength()):
        code = model.OperatorCodes(sg.Operators(i).OpcodeIndex())
        counts[names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]] += 1
    return counts


@pytest.mark.parametrize("keras_name,tflite_name", PAIRS)
def test_op_counts_match_converter(keras_name, tflite_name):
    if not MODELS.is_dir():
        pytest.skip("shared models folder is absent")
    graph = passes.optimize(load_keras(MODELS / "mlperf" / keras_name))
    ours = Counter(op.kind.value for op in graph.ops)
    theirs = tflite_op_counts(MODELS / "mlperf" / tflite_name)
    theirs.pop("QUANTIZE", None)
    theirs.pop("DEQUANTIZE", None)
    # tinygen turns a whole-plane average pool into MEAN (its own output range); TF keeps AVERAGE_POOL_2D
    globals_ = ours.pop("MEAN", 0)
    ours["AVERAGE_POOL_2D"] += globals_
    ours = +ours
    assert ours == theirs
    x = np.random.default_rng(0).standard_normal((2,) + graph.tensors[graph.inputs[0]].shape[1:])
    before = float_ref.run_batch(load_keras(MODELS / "mlperf" / keras_name), [x])[0]
    after = float_ref.run_batch(graph, [x])[0]
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(before).max()))


def _equivalent(model, x, **expect):
    g0 = load_keras(model)
    g1 = passes.optimize(g0)
    ref = model.predict(x, verbose=0)
    np.testing.assert_allclose(float_ref.run_batch(g1, [x])[0], ref, rtol=1e-4, atol=1e-4)
    kinds = Counter(op.kind for op in g1.ops)
    for k, n in expect.items():
        assert kinds[OpKind[k]] == n, (k, kinds)
    return g1


def _random_bn(model):
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]
            layer.set_weights([rng.uniform(0.5, 1.5, shapes[0]), rng.normal(0, 0.5, shapes[1]),
                               rng.normal(0, 0.5, shapes[2]), rng.uniform(0.5, 2.0, shapes[3])])


def test_bn_folds_into_conv_without_bias_and_relu_fuses():
    model = keras.Sequential([keras.Input((6, 6, 3)), L.Conv2D(4, 3, use_bias=False, name="c"),
                              L.BatchNormalization(), L.ReLU(), L.Dropout(0.3),
                              L.DepthwiseConv2D(3), L.BatchNormalization(), L.ReLU(max_value=6.0),
                              L.Flatten(), L.Dense(3), L.BatchNormalization()])
    _random_bn(model)
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 3)).astype(np.float32)
    g = _equivalent(model, x, BATCH_NORM=0, RELU=0, RELU6=0, MUL=0, ADD=0, CONV_2D=1)
    conv = next(op for op in g.ops if op.name == "c")
    assert conv.attrs.activation == Activation.RELU and conv.inputs[2] is not None
    dw = next(op for op in g.ops if op.kind == OpKind.DEPTHWISE_CONV_2D)
    assert dw.attrs.activation == Activation.RELU6


def test_bn_without_foldable_producer_becomes_mul_add():
    inp = keras.Input((5, 4))
    a = L.Dense(4, activation="relu")(inp)  # the relu sits between dense and BN: not foldable
    x = L.BatchNormalization(name="bn_a")(a)
    y = L.BatchNormalization(name="bn_in")(inp)  # BN straight on the model input
    model = keras.Model(inp, L.Add()([x, y]))
    _random_bn(model)
    x = np.random.default_rng(0).standard_normal((4, 5, 4)).astype(np.float32)
    g = _equivalent(model, x, BATCH_NORM=0, MUL=2, ADD=3)
    assert {"bn_a", "bn_in"} <= {op.name for op in g.ops}


def test_relu_with_two_consumers_is_not_fused():
    inp = keras.Input((8,))
    d = L.Dense(8)(inp)
    model = keras.Model(inp, [L.Add()([L.ReLU()(d), d])])
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    g = _equivalent(model, x, RELU=1)
    assert next(op for op in g.ops if op.kind == OpKind.FULLY_CONNECTED).attrs.activation == Activation.NONE


def _t(name, shape):
    return Tensor(name, shape, "float32")


def test_reshape_chains_fold_and_identity_reshapes_drop():
    tensors = {n: _t(n, s) for n, s in [("x", (1, 2, 6)), ("a", (1, 12)), ("b", (1, 3, 4)), ("c", (1, 3, 4)),
                                       ("y", (1, 4, 3))]}
    ops = [Op(OpKind.RESHAPE, "r1", ["x"], ["a"], ir.ReshapeAttrs()),
           Op(OpKind.RESHAPE, "r2", ["a"], ["b"], ir.ReshapeAttrs()),
           Op(OpKind.RESHAPE, "same", ["b"], ["c"], ir.ReshapeAttrs()),
           Op(OpKind.RESHAPE, "r3", ["c"], ["y"], ir.ReshapeAttrs())]
    g = Graph(tensors, ops, ["x"], ["y"])
    out = passes.optimize(g)
    assert [(op.name, op.inputs, op.outputs) for op in out.ops] == [("r3", ["x"], ["y"])]
    assert len(g.ops) == 4, "optimize must not modify its argument"
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 6)
    np.testing.assert_array_equal(float_ref.run(out, [x])[0], float_ref.run(g, [x])[0])


def test_identity_reshape_at_model_output_keeps_output_name():
    tensors = {"x": _t("x", (1, 4)), "r": _t("r", (1, 4)), "y": _t("y", (1, 4))}
    ops = [Op(OpKind.RELU, "relu", ["x"], ["r"]), Op(OpKind.RESHAPE, "same", ["r"], ["y"], ir.ReshapeAttrs())]
    out = passes.optimize(Graph(tensors, ops, ["x"], ["y"]))
    assert [(op.name, op.outputs) for op in out.ops] == [("relu", ["y"])]


def test_global_average_pool_becomes_mean():
    from tinygen import ir

    g = ir.Graph(tensors={"x": ir.Tensor("x", (1, 4, 4, 3), "float32"), "y": ir.Tensor("y", (1, 1, 1, 3), "float32"),
                          "z": ir.Tensor("z", (1, 2, 2, 3), "float32")},
                 ops=[ir.Op(ir.OpKind.AVERAGE_POOL_2D, "gap", ["x"], ["y"], ir.Pool2DAttrs(4, 4, 1, 1)),
                      ir.Op(ir.OpKind.AVERAGE_POOL_2D, "pool", ["x"], ["z"], ir.Pool2DAttrs(2, 2, 2, 2))],
                 inputs=["x"], outputs=["y", "z"])
    out = passes.optimize(g)
    assert [op.kind for op in out.ops] == [ir.OpKind.MEAN, ir.OpKind.AVERAGE_POOL_2D]
    x = np.random.default_rng(1).standard_normal((2, 4, 4, 3)).astype(np.float32)
    a = float_ref.run_batch(g, [x])[0]
    b = float_ref.run_batch(out, [x])[0]
    assert np.allclose(a, b, atol=1e-6)
