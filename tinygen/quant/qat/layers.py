"""Keras 3 layers of a quantization-aware model: what tinygen's int8 pipeline computes, in float.

`QuantizedLayer` is one fused int8 op (Conv/Depthwise/Dense + folded BatchNormalization + ReLU/ReLU6,
as tinygen.passes fuses them) with fake-quantized folded weights and an output range; `QuantizeOutput`
gives any other op an output range; `QuantizeInput` quantizes the model input. Ranges are moving
averages of batch min/max in training (running min/max while calibrating). `QATModel` adds optional
gradient quantization to the user's compile()/fit(). All are Keras-serializable.
"""
from __future__ import annotations

import keras
from keras import ops

from tinygen.quant.qat import quantizers as qq

_register = keras.saving.register_keras_serializable(package="tinygen")

ACTIVATIONS = ("relu", "relu6")  # fused into the int8 op's clamp
# fixed output (lo, hi) of ops whose int8 output parameters are fixed (tinygen.quant.ptq.FIXED_RANGES)
FIXED_RANGES = {"softmax": (0.0, 255.0 / 256.0), "sigmoid": (0.0, 255.0 / 256.0), "tanh": (-1.0, 127.0 / 128.0)}


def _activate(x, act):
    if act == "relu":
        return ops.relu(x)
    if act == "relu6":
        return ops.relu6(x)
    return x


class _Ranged(keras.layers.Layer):
    """A layer whose output is int8 fake-quantized on a tracked range (or a fixed one)."""

    def __init__(self, ema_decay: float = 0.99, fixed_range=None, **kwargs):
        super().__init__(**kwargs)
        self.ema_decay = float(ema_decay)
        self.fixed_range = tuple(fixed_range) if fixed_range is not None else None
        self.calibrating = False  # set by tinygen.qat.calibrate: running min/max, eager calls only

    def _build_range(self) -> None:
        self.range = self.add_weight(name="range", shape=(2,), initializer="zeros", trainable=False)
        self.range_ready = self.add_weight(name="range_ready", shape=(), initializer="zeros", trainable=False)

    def output_range(self) -> tuple:
        """(lo, hi) the exporter uses; None while the range was never trained or calibrated."""
        if self.fixed_range is not None:
            return self.fixed_range
        if float(ops.convert_to_numpy(self.range_ready)) == 0.0:
            return None
        lo, hi = (float(v) for v in ops.convert_to_numpy(self.range))
        return lo, hi

    def _quantize_output(self, y, training):
        self._observe(y, training)
        return self._apply(y)

    def _observe(self, y, training) -> None:
        """Update the range from y: moving average in training, running min/max while calibrating."""
        if self.fixed_range is not None or not (training or self.calibrating):
            return
        ready = self.range_ready > 0
        lo_b, hi_b = ops.min(ops.stop_gradient(y)), ops.max(ops.stop_gradient(y))
        if self.calibrating:
            lo, hi = ops.minimum(self.range[0], lo_b), ops.maximum(self.range[1], hi_b)
        else:
            d = self.ema_decay
            lo, hi = d * self.range[0] + (1 - d) * lo_b, d * self.range[1] + (1 - d) * hi_b
        self.range.assign(ops.where(ready, ops.stack([lo, hi]), ops.stack([lo_b, hi_b])))
        self.range_ready.assign(1.0)

    def _apply(self, y):
        """y fake-quantized on the current range (unchanged while there is none)."""
        if self.fixed_range is not None:
            return qq.fake_quant_activation(y, *self.fixed_range)
        return ops.where(self.range_ready > 0, qq.fake_quant_activation(y, self.range[0], self.range[1]), y)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(ema_decay=self.ema_decay, fixed_range=self.fixed_range)
        return cfg


@_register
class QuantizeInput(_Ranged):
    """Fake-quantizes a model input (the int8 input tensor of the generated C)."""

    def build(self, input_shape):
        self._build_range()

    def call(self, x, training=None):
        return self._quantize_output(x, training)

    def compute_output_shape(self, input_shape):
        return input_shape


@_register
class RangeTracker(_Ranged):
    """The int8 range of one tensor inside a QAT block (attention scores, a GRU gate, ...): `observe`
    updates it, `apply` fake-quantizes on it; calling it does both, as a QuantizeInput does."""

    def build(self, input_shape=None):
        self._build_range()

    def call(self, x, training=None):
        return self._quantize_output(x, training)

    def observe(self, y, training) -> None:
        self._observe(y, training)

    def apply(self, y):
        return self._apply(y)

    def compute_output_shape(self, input_shape):
        return input_shape


@_register
class QuantizeOutput(_Ranged):
    """`layer` (no weights: pooling, add, softmax, ...) then an optional fused ReLU, then fake quant."""

    def __init__(self, layer, activation=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = keras.saving.deserialize_keras_object(layer)
        self.layer = layer
        self.activation = activation

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        self._build_range()

    def call(self, inputs, training=None):
        y = _activate(self.layer(inputs, training=training) if _takes_training(self.layer)
                      else self.layer(inputs), self.activation)
        return self._quantize_output(y, training)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(layer=keras.saving.serialize_keras_object(self.layer), activation=self.activation)
        return cfg


def _takes_training(layer) -> bool:
    return type(layer).__name__ in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise")


_WEIGHTED = ("Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D", "Dense")
_DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D")


@_register
class QuantizedLayer(_Ranged):
    """Conv1D/Conv2D/DepthwiseConv1D/DepthwiseConv2D/Dense (`layer`, linear) + optional BatchNormalization + ReLU/ReLU6.

    Inference: y = act(op(x, fq(w_fold)) + b_fold), fake-quantized, with w_fold = w * gamma / sqrt(var
    + eps) and b_fold = beta + (b - mean) * gamma / sqrt(var + eps) from the moving statistics, exactly
    what tinygen.passes.fold_batchnorm builds. Training (TF-MOT style): the same quantized weights, with
    the output rescaled to batch statistics, which are folded into the moving ones.
    """

    def __init__(self, layer, batchnorm=None, activation=None, weight_quantizer="int8", **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = keras.saving.deserialize_keras_object(layer)
        if isinstance(batchnorm, dict):
            batchnorm = keras.saving.deserialize_keras_object(batchnorm)
        if isinstance(weight_quantizer, dict):
            weight_quantizer = keras.saving.deserialize_keras_object(weight_quantizer)
        if type(layer).__name__ not in _WEIGHTED:
            raise ValueError(f"QuantizedLayer: cannot quantize a {type(layer).__name__}")
        if activation not in (None,) + ACTIVATIONS:
            raise ValueError(f"QuantizedLayer: activation {activation!r} is not fusable")
        self.layer = layer
        self.batchnorm = batchnorm
        self.activation = activation
        quantizer = qq.weight_quantizer(weight_quantizer)
        if quantizer.stateful:  # per-layer state (a k-means codebook): never shared between layers
            quantizer = type(quantizer).from_config(quantizer.get_config())
        self.weight_quantizer = quantizer

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        if self.batchnorm is not None and not self.batchnorm.built:
            self.batchnorm.build(self.layer.compute_output_shape(input_shape))
        self._build_range()
        self.initialize_quantizer()

    def initialize_quantizer(self, force: bool = False) -> None:
        """Give a stateful weight quantizer (k-means) its state from the current folded weights, once:
        at build time of a fresh QAT layer (its weights are already the float model's); a loaded model
        keeps the state saved in its config. force=True re-derives it (e.g. re-clusters)."""
        q = self.weight_quantizer
        if q.stateful and (force or not q.initialized):
            k2, _ = self.folded()
            q.initialize(ops.convert_to_numpy(k2), 1)

    # ---- the weights, as tinygen.passes folds them ----
    def _kernel_2d(self, kernel):
        """Kernel as (taps * inputs, output channels); output channel c*M+m for a depthwise (C, M)."""
        return ops.reshape(kernel, (-1, self.out_channels))

    @property
    def out_channels(self) -> int:
        k = self.layer.kernel.shape
        return int(k[-2] * k[-1]) if type(self.layer).__name__ in _DEPTHWISE else int(k[-1])

    def _bias(self):
        return self.layer.bias if self.layer.use_bias else ops.zeros((self.out_channels,))

    def _bn_params(self):
        bn = self.batchnorm
        n = self.out_channels
        gamma = bn.gamma if bn.scale else ops.ones((n,))
        beta = bn.beta if bn.center else ops.zeros((n,))
        return gamma, beta, bn.moving_mean, bn.moving_variance, bn.epsilon

    def folded(self):
        """(kernel_2d, bias) of the inference forward pass, BatchNormalization folded in."""
        k2 = self._kernel_2d(self.layer.kernel)
        if self.batchnorm is None:
            return k2, self._bias()
        gamma, beta, mean, var, eps = self._bn_params()
        s = gamma / ops.sqrt(var + eps)
        return k2 * s, beta + (self._bias() - mean) * s

    def quantized_weights(self):
        """(codes, scale, bias): float32 NumPy codes of the folded kernel as the layer's kernel shape."""
        k2, b = self.folded()
        codes, scale = self.weight_quantizer.quantize(k2, 1)
        codes = ops.reshape(codes, self.layer.kernel.shape)
        return (ops.convert_to_numpy(codes), ops.convert_to_numpy(scale), ops.convert_to_numpy(b))

    def _op(self, x, kernel_2d):
        layer, kind = self.layer, type(self.layer).__name__
        kernel = ops.reshape(kernel_2d, layer.kernel.shape)
        if kind == "Dense":
            return ops.matmul(x, kernel)
        if kind in _DEPTHWISE:
            return ops.depthwise_conv(x, kernel, strides=layer.strides, padding=layer.padding,
                                      data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        if layer.padding == "causal":  # Conv1D: pad the past, then a valid convolution (as Keras' call)
            x = ops.pad(x, layer._compute_causal_padding())
            return ops.conv(x, kernel, strides=list(layer.strides), padding="valid", dilation_rate=layer.dilation_rate,
                            data_format=layer.data_format)
        return layer.convolution_op(x, kernel)

    def call(self, x, training=None):
        k2, b = self.folded()
        y = self._op(x, self.weight_quantizer.fake_quant(k2, 1))
        if self.batchnorm is not None and training:
            gamma, beta, mean, var, eps = self._bn_params()
            raw = self._op(x, self._kernel_2d(self.layer.kernel))  # unquantized, for the batch statistics
            axes = tuple(range(len(raw.shape) - 1))
            mean_b, var_b = ops.moments(raw, axes=axes)
            std_m, std_b = ops.sqrt(var + eps), ops.sqrt(var_b + eps)
            y = y * (std_m / std_b) + beta - gamma * mean_b / std_b
            m = self.batchnorm.momentum
            mean_b = ops.stop_gradient(mean_b + self._bias())
            self.batchnorm.moving_mean.assign(m * mean + (1 - m) * mean_b)
            self.batchnorm.moving_variance.assign(m * var + (1 - m) * ops.stop_gradient(var_b))
        else:
            y = y + b
        return self._quantize_output(_activate(y, self.activation), training)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(layer=keras.saving.serialize_keras_object(self.layer),
                   batchnorm=(keras.saving.serialize_keras_object(self.batchnorm)
                              if self.batchnorm is not None else None),
                   activation=self.activation,
                   weight_quantizer=keras.saving.serialize_keras_object(self.weight_quantizer))
        return cfg


@_register
class QATModel(keras.Model):
    """A functional model of QAT layers; `gradient_bits` quantizes gradients before the optimizer."""

    def __init__(self, *args, gradient_bits=None, gradient_seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if gradient_bits not in (None, 2, 3, 4, 5, 6, 7, 8, 16):
            raise ValueError(f"gradient_bits={gradient_bits}: use None (float32) or 2..8 or 16")
        self.gradient_bits = gradient_bits
        self.gradient_seed = int(gradient_seed)
        self._gradient_rng = keras.random.SeedGenerator(self.gradient_seed) if gradient_bits else None

    def train_step(self, data):
        if not self.gradient_bits:
            return super().train_step(data)
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        # a weight the loss does not reach has no gradient (None), e.g. a conv bias that the batch statistics
        # of a following BatchNormalization cancel in training: it is left alone, as float32 training does
        pairs = [(g, w) for g, w in zip(tape.gradient(loss, self.trainable_weights), self.trainable_weights)
                 if g is not None]
        grads = [qq.quantize_gradient(tf.convert_to_tensor(g), self.gradient_bits, self._gradient_rng)
                 for g, _ in pairs]
        self.optimizer.apply_gradients(zip(grads, [w for _, w in pairs]))
        for m in self.metrics:
            if m.name == "loss":
                m.update_state(loss)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(gradient_bits=self.gradient_bits, gradient_seed=self.gradient_seed)
        return cfg
