"""Keras layers that become layout ops (Cropping1D / Cropping2D -> STRIDED_SLICE), quantized by tinygen's
PTQ with int8 and 16x8 activations: the generated C equals TFLM running tinygen's export byte for byte."""
from __future__ import annotations

import numpy as np
import pytest

import tinygen
from test_export_tflite import assert_tflm_equals_c
from tinygen.ir import OpKind
from tinygen.verify.export_tflite import export_tflite


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_keras_cropping_equals_tflm(activations, tmp_path):
    import keras

    L = keras.layers
    keras.utils.set_random_seed(6)
    inp = keras.Input((9, 8, 3))
    x = L.Conv2D(4, 3, padding="same")(inp)
    x = L.Cropping2D(((1, 2), (0, 3)))(x)
    x = L.Reshape((6, 20))(x)
    x = L.Conv1D(5, 1)(x)
    x = L.Cropping1D((2, 1))(x)
    out = L.Dense(3)(L.Flatten()(x))
    model = keras.Model(inp, out)
    calib = np.random.default_rng(3).standard_normal((16, 9, 8, 3)).astype(np.float32)
    out_dir = tmp_path / "out"
    result = tinygen.compile(model, out_dir, calibration=calib, name="crop", firmware=False, activations=activations)
    slices = [op for op in result.graph.ops if op.kind == OpKind.STRIDED_SLICE]
    assert len(slices) == 2
    for op in slices:  # a copy: the slice keeps its input's quantization
        assert result.graph.tensors[op.inputs[0]].quant == result.graph.tensors[op.outputs[0]].quant
    assert_tflm_equals_c(out_dir, export_tflite(out_dir, tmp_path / "crop.tflite"))
