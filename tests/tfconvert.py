"""Make small int8 (or 16x8) .tflite models with TensorFlow's converter, for oracle tests."""
from __future__ import annotations

import numpy as np


def convert(keras_model, calib: np.ndarray, mode: str = "int8", seed: int = 0) -> bytes:
    """Full-integer quantize `keras_model` with TF's converter; calib is (N, *input_shape[1:])."""
    import tensorflow as tf

    calib = np.asarray(calib, dtype=np.float32)
    inputs = keras_model.inputs if isinstance(keras_model.inputs, list) else [keras_model.inputs]

    def rep():
        for i in range(calib.shape[0]):
            yield [calib[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    if mode == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif mode == "int16":
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    else:
        raise ValueError(mode)
    assert len(inputs) == 1, "use convert_multi for several inputs"
    return conv.convert()


def convert_multi(keras_model, calibs: list, mode: str = "int8") -> bytes:
    """As convert, for a model with several inputs; calibs[i] is (N, *input_i_shape[1:])."""
    import tensorflow as tf

    calibs = [np.asarray(c, dtype=np.float32) for c in calibs]

    def rep():
        for i in range(calibs[0].shape[0]):
            yield [c[i:i + 1] for c in calibs]

    conv = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()
