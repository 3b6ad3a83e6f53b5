"""tinygen's int8 model against TF's converter on the same float Keras model and calibration data: inputs
quantized as the C API takes them, outputs dequantized, mean |int8 - float| and top-1 agreement on
held-out inputs. TF's converter output runs in TF's interpreter without its XNNPACK delegate (that
delegate's answers on attention models are 10x worse than TF's own kernels and TFLM's).

Used by tests/e2e/test_keras_layers2.py, tests/e2e/test_keras_apps_trained.py and
benchmarks/keras_apps_trained.py."""
from __future__ import annotations

import numpy as np


def q_in(q, x) -> np.ndarray:
    """Float input sample x quantized to the graph's input tensor (its dtype and shape)."""
    t = q.tensors[q.inputs[0]]
    info = np.iinfo(t.dtype)
    v = np.floor(np.abs(x / np.float32(t.scale)) + 0.5) * np.sign(x) + t.zero_point
    return np.clip(v, info.min, info.max).astype(t.dtype).reshape(t.shape)


def deq(q, y) -> np.ndarray:
    """The graph's quantized output y as float."""
    t = q.tensors[q.outputs[0]]
    return (np.asarray(y, np.float32) - t.zero_point) * np.float32(t.scale)


def tf_converter_outputs(model, calib: np.ndarray, test: np.ndarray) -> list:
    """TF's converter on `model` (full-integer int8, representative data `calib`), run by TF's interpreter
    without delegates on each sample of `test`: one dequantized output array per sample."""
    import tensorflow as tf

    from tfconvert import convert

    resolver = tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = tf.lite.Interpreter(model_content=convert(model, calib), experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    di, do = interp.get_input_details()[0], interp.get_output_details()[0]
    (si, zi), (so, zo) = di["quantization"], do["quantization"]
    outs = []
    for x in test:
        xi = np.clip(np.floor(np.abs(x / np.float32(si)) + 0.5) * np.sign(x) + zi, -128, 127).astype(np.int8)
        interp.set_tensor(di["index"], xi[None])
        interp.invoke()
        outs.append((interp.get_tensor(do["index"]).astype(np.float32) - zo) * np.float32(so))
    return outs


def compare(want: np.ndarray, got: list) -> tuple:
    """(mean over samples of mean |got - want|, fraction of samples whose argmax agrees); want is the float
    model's (N, ...) output, got one array per sample."""
    errs, same = [], []
    for w, g in zip(want, got):
        g = np.asarray(g, np.float32).reshape(w.shape)
        errs.append(np.abs(g - w).mean())
        same.append(int(np.argmax(g)) == int(np.argmax(w)))
    return float(np.mean(errs)), float(np.mean(same))
