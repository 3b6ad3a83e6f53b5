"""A model made by TensorFlow's converter (full int8) from Keras ops: GREATER, GREATER_EQUAL, LOGICAL_AND, SELECT_V2,
ABS, ADD, DIV, RSQRT and LOG_SOFTMAX as the converter writes them (its own quantization
parameters, constants folded into operands); tinygen's C and NumPy reference equal TFLM on the file byte
for byte, bool masks included."""
from __future__ import annotations

import numpy as np

from single_op import tflm
from tfconvert import convert
from tinygen.compiler import load_model, lower
from tinygen.ir import OpKind
from tinygen.verify.testing import host_model_for, run_reference


def _model():
    import keras

    inp = keras.Input((6,))
    a = keras.layers.Dense(6, name="d1")(inp)
    b = keras.layers.Dense(6, name="d2")(inp)
    mask = keras.ops.logical_and(keras.ops.greater(a, b), keras.ops.logical_not(keras.ops.less(a, -1.0)))
    picked = keras.ops.abs(keras.ops.where(mask, a, b))
    soft = keras.ops.log_softmax(picked, axis=-1)
    ratio = keras.ops.divide(a, keras.ops.abs(b) + 1.0)
    inv = keras.ops.rsqrt(keras.ops.abs(a) + 0.5)
    return keras.Model(inp, [soft, ratio, inv])


def test_converted_math_model_equals_tflm(tmp_path):
    rng = np.random.default_rng(0)
    data = convert(_model(), rng.standard_normal((64, 6)).astype(np.float32))
    path = tmp_path / "math.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    kinds = {op.kind for op in graph.ops}
    # the converter turns not(a < -1) into GREATER_EQUAL
    assert {OpKind.GREATER, OpKind.GREATER_EQUAL, OpKind.LOGICAL_AND, OpKind.SELECT_V2, OpKind.ABS, OpKind.DIV,
            OpKind.RSQRT, OpKind.LOG_SOFTMAX} <= kinds, kinds
    lowered = lower(graph)
    model = host_model_for(graph)
    interp = tflm(data)
    samples = [rng.integers(-128, 128, size=(1, 6)) for _ in range(12)] + [np.full((1, 6), -128), np.full((1, 6), 127)]
    for k, x in enumerate(samples):
        x = x.astype(np.int8)
        interp.set_input(x, 0)
        interp.invoke()
        got_c, got_ref = model([x]), run_reference(graph, [x], lowered)
        for j in range(len(graph.outputs)):
            want = np.array(interp.get_output(j))
            assert np.asarray(got_c[j]).reshape(want.shape).tobytes() == want.tobytes(), f"sample {k}, output {j}: C"
            assert np.asarray(got_ref[j]).reshape(want.shape).tobytes() == want.tobytes(), f"sample {k}, output {j}: ref"
