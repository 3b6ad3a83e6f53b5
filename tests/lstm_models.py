"""UNIDIRECTIONAL_SEQUENCE_LSTM test models made by TF's converter, int8 or 16x8.

Keras 3's LSTM converts to a WHILE loop, not to the fused op. TF's converter fuses a function that
declares the Keras-2 LSTM interface (`api_implements` = "lstm_...", `time_major`; arguments input,
initial h, initial c, kernel, recurrent kernel, bias; five results of which only the last output or the
sequence is used), called from a concrete function with a fixed batch. `_lstm_body` is that function,
written with plain TF ops (gates in Keras order i, f, c, o)."""
from __future__ import annotations

import numpy as np


def _lstm_fn(time_major: bool):
    import tensorflow as tf

    attrs = {"api_implements": f"lstm_tinygen_{int(time_major)}", "api_preferred_device": "CPU",
             "time_major": time_major, "go_backwards": False}

    @tf.function(experimental_attributes=attrs, autograph=True)
    def body(x, h0, c0, kernel, recurrent, bias):
        seq = x if time_major else tf.transpose(x, [1, 0, 2])
        h, c = h0, c0
        outs = tf.TensorArray(tf.float32, size=seq.shape[0])
        for t in tf.range(seq.shape[0]):
            z = tf.matmul(seq[t], kernel) + tf.matmul(h, recurrent) + bias
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            outs = outs.write(t, h)
        ys = outs.stack()
        ys = ys if time_major else tf.transpose(ys, [1, 0, 2])
        return h, ys, h, c, tf.constant(0.0)

    return body


def lstm_model(units: int, features: int, steps: int, return_sequences: bool, mode: str = "int8",
               seed: int = 0, time_major: bool = False, batch: int = 1, dense: int = 0) -> bytes:
    """input [batch, steps, features] ([steps, batch, features] when time_major) -> LSTM(units), the whole
    sequence or its last step (-> a Dense(dense) layer when dense > 0), full-integer quantized ("int8":
    int8 activations, int16 cell state; "int16": 16x8, which TF's converter refuses for this op) on random
    calibration data, or left in float ("float")."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    kernel = tf.constant(rng.normal(0, 0.5, (features, 4 * units)).astype(np.float32))
    recurrent = tf.constant(rng.normal(0, 0.5, (units, 4 * units)).astype(np.float32))
    bias = tf.constant(rng.normal(0, 0.5, (4 * units,)).astype(np.float32))
    head = tf.constant(rng.normal(0, 0.5, (units, max(dense, 1))).astype(np.float32))
    body = _lstm_fn(time_major)
    shape = [steps, batch, features] if time_major else [batch, steps, features]

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def run(x):
        zeros = tf.zeros([batch, units])
        last, seq, _, _, _ = body(x, zeros, zeros, kernel, recurrent, bias)
        y = seq if return_sequences else last
        return tf.matmul(y, head) if dense else y

    calib = rng.normal(0, 1.0, (24, *shape)).astype(np.float32)

    def rep():
        for c in calib:
            yield [c]

    holder = tf.Module()  # with a trackable object the converter keeps the LSTM function to fuse it
    holder.run = run
    conv = tf.lite.TFLiteConverter.from_concrete_functions([run.get_concrete_function()], holder)
    if mode == "float":
        return conv.convert()
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    if mode == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    elif mode == "int16":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16
    else:
        raise ValueError(mode)
    return conv.convert()


def raw_lstm_model(units: int, features: int, steps: int, mode: str = "int16", batch: int = 1,
                   time_major: bool = False, cell_clip: float = 0.0, cell_log2: int = -11, seed: int = 0,
                   h_zero_point: int = 0, weight_std: float = 40.0, x_zero_point=None, c_zero_point: int = 0,
                   y_quant=None, weight_zero_point: int = 0) -> bytes:
    """A single-op LSTM .tflite written by tinygen's own flatbuffer writer, for the forms TF's converter
    does not write: 16x8 ("int16": int16 activations, int64 biases) and any cell clip, cell scale
    (2^cell_log2), zero points (x_zero_point None: 0 for 16x8, -3 for int8; weights: weight_zero_point plus
    the gate's index when not 0), batch and layout. Random
    weights (normal, std weight_std, int8) and biases."""
    from tinygen import ir
    from tinygen.ir import OpKind
    from tinygen.ops.recurrent import LstmAttrs
    from tinygen.verify.export_tflite import to_bytes

    rng = np.random.default_rng(seed)
    act, bias_t = ("int16", "int64") if mode == "int16" else ("int8", "int32")
    sx, sh = (1 / 4096, 1 / 32768) if mode == "int16" else (0.03, 1 / 128)
    xz, hz = (x_zero_point, h_zero_point) if x_zero_point is not None else (0 if mode == "int16" else -3, h_zero_point)
    q = ir.QuantParams.make
    xs = [steps, batch, features] if time_major else [batch, steps, features]
    tensors = {"x": ir.Tensor("x", tuple(xs), act, q(sx, xz)),
               "y": ir.Tensor("y", tuple(xs[:2] + [units]), act, q(*(y_quant or (sh, hz)))),
               "h": ir.Tensor("h", (batch, units), act, q(sh, hz), variable=True),
               "c": ir.Tensor("c", (batch, units), "int16", q(2.0 ** cell_log2, c_zero_point), variable=True)}
    names = ["x"]
    for kind, (s_in, depth) in (("wx", (sx, features)), ("wh", (sh, units))):
        for g in ("i", "f", "c", "o"):
            sw = float(rng.uniform(0.5, 2.0)) / 128 * (4.0 / np.sqrt(depth))
            w = np.clip(np.rint(rng.normal(0, weight_std, (units, depth))), -127, 127).astype(np.int8)
            wz = weight_zero_point + ("ifco".index(g) if weight_zero_point else 0)  # distinct per gate
            tensors[f"{kind}_{g}"] = ir.Tensor(f"{kind}_{g}", (units, depth), "int8", q(sw, wz), w)
            names.append(f"{kind}_{g}")
    for g in ("i", "f", "c", "o"):
        s = tensors["x"].scale * tensors[f"wx_{g}"].scale
        b = np.rint(rng.normal(0, 1.0, units) / s).astype(bias_t)
        tensors[f"b_{g}"] = ir.Tensor(f"b_{g}", (units,), bias_t, q(s, 0), b)
        names.append(f"b_{g}")
    op = ir.Op(OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, "lstm", names + ["h", "c"], ["y"],
               LstmAttrs(float(np.float32(cell_clip)), time_major))
    return to_bytes(ir.Graph(tensors, [op], ["x"], ["y"], name="lstm"))
