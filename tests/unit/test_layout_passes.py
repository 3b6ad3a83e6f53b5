"""TRANSPOSE clean-up (tinygen/passes/layout.py) on quantized .tflite graphs and on Keras float graphs:
cancelling pairs disappear, chains merge into one TRANSPOSE, constant transposes fold; the results stay
byte-identical with TFLM on the original file (or, for Keras, on tinygen's own export)."""
from __future__ import annotations

import numpy as np
import pytest

from layout_models import ops_model, qparams
from test_layout_ops import check_against_tflm
from tinygen import ir
from tinygen.compiler import load_model
from tinygen.ir import OpKind
from tinygen.ops.layout_moves import TransposeAttrs
from tinygen.passes.layout import simplify_transposes


def _two_transposes(p1, p2, same_quant: bool, dtype: str = "int8", rng=None) -> bytes:
    rng = rng or np.random.default_rng(0)
    qx = qparams(dtype, rng)
    qy = qx if same_quant else qparams(dtype, rng)
    qz = qparams(dtype, rng)
    shape = (1, 3, 4, 5)
    mid = tuple(shape[p] for p in p1)
    out = tuple(mid[p] for p in p2)
    tensors = [("x", shape, dtype, qx, None), ("t", mid, dtype, qx, None), ("y", out, dtype, qy, None),
               ("z", out, dtype, qz, None), ("p1", (4,), "int32", None, p1), ("p2", (4,), "int32", None, p2)]
    ops = [("TRANSPOSE", ["x", "p1"], ["t"], "TransposeOptions", ()),
           ("TRANSPOSE", ["t", "p2"], ["y"], "TransposeOptions", ()),
           ("ADD", ["y", "y"], ["z"], "AddOptions", ())]
    return ops_model(tensors, ops, ["x"], ["z"])


def _kinds(tmp_path) -> list:
    return [op.kind for op in load_model(str(tmp_path / "m.tflite")).ops]


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_cancelling_pair_disappears(dtype, tmp_path):
    check_against_tflm(_two_transposes([0, 3, 1, 2], [0, 2, 3, 1], True, dtype), tmp_path)
    assert _kinds(tmp_path) == [OpKind.ADD]


def test_chain_merges_into_one_transpose(tmp_path):
    check_against_tflm(_two_transposes([0, 3, 1, 2], [0, 1, 3, 2], True), tmp_path)
    graph = load_model(str(tmp_path / "m.tflite"))
    assert [op.kind for op in graph.ops] == [OpKind.TRANSPOSE, OpKind.ADD]
    assert graph.ops[0].attrs.perm == (0, 3, 2, 1)


def test_identity_with_other_quantization_stays_a_copy(tmp_path):
    """The pair cancels, but the output is labelled with other parameters: the copy must stay."""
    check_against_tflm(_two_transposes([0, 3, 1, 2], [0, 2, 3, 1], False), tmp_path)
    assert _kinds(tmp_path) == [OpKind.TRANSPOSE, OpKind.ADD]


def test_transpose_of_a_constant_folds():
    q = ir.QuantParams.make(0.5, 1)
    data = np.arange(6, dtype=np.int8).reshape(2, 3)
    tensors = {"c": ir.Tensor("c", (2, 3), "int8", q, data), "ct": ir.Tensor("ct", (3, 2), "int8", q),
               "x": ir.Tensor("x", (3, 2), "int8", q), "y": ir.Tensor("y", (3, 2), "int8", q)}
    ops = [ir.Op(OpKind.TRANSPOSE, "tc", ["c"], ["ct"], TransposeAttrs((1, 0))),
           ir.Op(OpKind.ADD, "add", ["x", "ct"], ["y"], ir.ElementwiseAttrs())]
    graph = ir.Graph(tensors, ops, ["x"], ["y"])
    simplify_transposes(graph)
    assert [op.kind for op in graph.ops] == [OpKind.ADD]
    assert graph.tensors["ct"].data.tolist() == data.T.tolist()
    assert graph.tensors["ct"].quant == q


def test_keras_permute_through_ptq_and_export_equals_tflm(tmp_path):
    """Keras Permute -> TRANSPOSE: a Permute pair around nothing cancels in the passes; a single Permute is
    quantized with its input's parameters and runs byte-identical with TFLM on tinygen's export."""
    import keras

    import tinygen
    from test_export_tflite import assert_tflm_equals_c
    from tinygen.verify.export_tflite import export_tflite

    L = keras.layers
    keras.utils.set_random_seed(5)
    inp = keras.Input((6, 4, 3))
    x = L.Conv2D(5, 3, padding="same")(inp)
    x = L.Permute((2, 1, 3))(x)
    x = L.Permute((2, 1, 3))(x)  # cancels the first
    x = L.Permute((3, 1, 2))(x)
    x = L.Flatten()(x)
    out = L.Dense(4)(x)
    model = keras.Model(inp, out)
    calib = np.random.default_rng(2).standard_normal((16, 6, 4, 3)).astype(np.float32)
    out_dir = tmp_path / "out"
    result = tinygen.compile(model, out_dir, calibration=calib, name="permute", firmware=False)
    kinds = [op.kind for op in result.graph.ops]
    assert kinds.count(OpKind.TRANSPOSE) == 1, kinds
    assert_tflm_equals_c(out_dir, export_tflite(out_dir, tmp_path / "permute.tflite"))
