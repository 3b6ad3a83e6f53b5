"""QAT layers for Conv2DTranspose / Conv1DTranspose, SeparableConv1D / 2D and MultiHeadAttention: what
tinygen's int8 lowering of these layers computes, in float (keras.ops), with int8 per-channel
fake-quantized weights.

- `QuantizedDeconv`: the transposed convolution with its kernel fake-quantized per output channel
  (symmetric int8, scale max|w| / 127, straight-through gradient). tinygen lowers it to phase
  convolutions whose weights are the kernel's taps rearranged (frontend/deconv_phases.py), so every
  phase channel of output channel o gets o's scale and codes. The output range is learned; a fused
  ReLU / ReLU6 stays a separate op in the lowered graph, so the linear output has its own range too.
- `QuantizedSeparable`: SeparableConv1D / SeparableConv2D as tinygen lowers them (a DEPTHWISE_CONV_2D then a
  1x1 CONV_2D, the ReLU fused into it): both kernels per-channel int8, the depthwise output's range learned.
- `QuantizedAttention`: MultiHeadAttention as tinygen lowers it (frontend/keras_attention.py): the four
  projections are FULLY_CONNECTEDs with per-channel int8 weights (the query's holds the 1 / sqrt(key_dim)
  factor, folded before quantizing), and the projection outputs, the scores, the softmax (fixed
  [0, 255/256]) and the context each get an int8 range. Dropout is left out (identity at inference).
"""
from __future__ import annotations

import math

import keras
from keras import ops

from tinygen.quant.qat import layers as ql
from tinygen.quant.qat import quantizers as qq

_register = keras.saving.register_keras_serializable(package="tinygen")
DECONV = ("Conv2DTranspose", "Conv1DTranspose")
SEPARABLE = ("SeparableConv1D", "SeparableConv2D")
ATTENTION = ("MultiHeadAttention",)
_INT8 = qq.IntQuantizer(8)


def _inner(layer):
    return keras.saving.deserialize_keras_object(layer) if isinstance(layer, dict) else layer


class _Block(ql._Ranged):
    """A wrapped float layer (`layer`) with an output range and int8 weights: subclasses give
    `quantized()`: {kernel name: (codes, scale, folded float kernel, float bias)}."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = _inner(layer)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(layer=keras.saving.serialize_keras_object(self.layer))
        return cfg


class _Fused(_Block):
    """A block of one of the Keras classes `KINDS` with an optional fused ReLU / ReLU6 (`activation`)."""

    KINDS: tuple = ()

    def __init__(self, layer, activation=None, **kwargs):
        super().__init__(layer, **kwargs)
        if type(self.layer).__name__ not in self.KINDS:
            raise ValueError(f"{type(self).__name__}: cannot quantize a {type(self.layer).__name__}")
        if activation not in (None,) + ql.ACTIVATIONS:
            raise ValueError(f"{type(self).__name__}: activation {activation!r} is not fusable")
        self.activation = activation

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(activation=self.activation)
        return cfg


@_register
class QuantizedDeconv(_Fused):
    """Conv2DTranspose / Conv1DTranspose (`layer`, linear) + optional ReLU / ReLU6 (module docstring)."""

    KINDS = DECONV

    def __init__(self, layer, activation=None, **kwargs):
        super().__init__(layer, activation, **kwargs)
        self.linear = ql.RangeTracker(ema_decay=self.ema_decay, name="linear") if activation else None

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        if self.linear is not None:
            self.linear.build(None)
        self._build_range()

    @property
    def axis(self) -> int:
        """The output-channel axis of the Keras kernel ((kh, kw, O, C) or (k, O, C))."""
        return len(self.layer.kernel.shape) - 2

    def quantized(self) -> dict:
        k = self.layer.kernel
        codes, scale = _INT8.quantize(k, self.axis)
        bias = self.layer.bias if self.layer.use_bias else ops.zeros((k.shape[self.axis],))
        return {"kernel": tuple(ops.convert_to_numpy(v) for v in (codes, scale, k, bias))}

    def call(self, x, training=None):
        layer = self.layer
        y = ops.conv_transpose(x, _INT8.fake_quant(layer.kernel, self.axis), strides=list(layer.strides),
                               padding=layer.padding, output_padding=layer.output_padding,
                               dilation_rate=layer.dilation_rate, data_format=layer.data_format)
        if layer.use_bias:
            y = y + layer.bias
        if self.linear is not None:
            y = ql._activate(self.linear(y, training=training), self.activation)
        return self._quantize_output(y, training)


@_register
class QuantizedSeparable(_Fused):
    """SeparableConv1D / SeparableConv2D (`layer`, linear) + optional ReLU / ReLU6: tinygen's DEPTHWISE_CONV_2D
    (per-channel int8 depthwise kernel, its output on a learned range) then a 1x1 CONV_2D (per-channel
    int8 pointwise kernel, bias, the ReLU fused, the output range)."""

    KINDS = SEPARABLE

    def __init__(self, layer, activation=None, **kwargs):
        super().__init__(layer, activation, **kwargs)
        self.depthwise = ql.RangeTracker(ema_decay=self.ema_decay, name="depthwise")

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.depthwise.build(None)
        self._build_range()

    def _dw(self):
        """The depthwise kernel as (taps, C * M): channel c * M + m, the IR's order."""
        k = self.layer.depthwise_kernel
        return ops.reshape(k, (-1, int(k.shape[-2]) * int(k.shape[-1])))

    def quantized(self) -> dict:
        layer = self.layer
        dw, pw = self._dw(), layer.pointwise_kernel
        out = {}
        for name, w, axis, bias in (("depthwise", dw, 1, ops.zeros((dw.shape[1],))),
                                    ("pointwise", pw, len(pw.shape) - 1,
                                     layer.bias if layer.use_bias else ops.zeros((pw.shape[-1],)))):
            codes, scale = _INT8.quantize(w, axis)
            out[name] = tuple(ops.convert_to_numpy(v) for v in (codes, scale, w, bias))
        return out

    def call(self, x, training=None):
        layer = self.layer
        dw = ops.reshape(_INT8.fake_quant(self._dw(), 1), layer.depthwise_kernel.shape)
        y = ops.depthwise_conv(x, dw, strides=layer.strides, padding=layer.padding,
                               dilation_rate=layer.dilation_rate, data_format=layer.data_format)
        y = self.depthwise(y, training=training)
        pw = layer.pointwise_kernel
        y = ops.conv(y, _INT8.fake_quant(pw, len(pw.shape) - 1), strides=1, padding="valid",
                     data_format=layer.data_format)
        if layer.use_bias:
            y = y + layer.bias
        return self._quantize_output(ql._activate(y, self.activation), training)


@_register
class QuantizedAttention(_Block):
    """MultiHeadAttention (`layer`) on [query, value, key] (module docstring); its own range is the output."""

    PROJECTIONS = ("query", "key", "value", "attention_output")
    TRACKED = ("query", "key", "value", "scores", "context")

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        if type(self.layer).__name__ not in ATTENTION:
            raise ValueError(f"QuantizedAttention: cannot quantize a {type(self.layer).__name__}")
        self.trackers = {k: ql.RangeTracker(ema_decay=self.ema_decay, name=k) for k in self.TRACKED}
        self.softmax = ql.RangeTracker(fixed_range=ql.FIXED_RANGES["softmax"], name="softmax")

    def build(self, input_shape):
        if not self.layer.built:
            q, v, k = (tuple(s) for s in input_shape)
            self.layer.build(q, v, k)
        for t in list(self.trackers.values()) + [self.softmax]:
            t.build(None)
        self._build_range()

    def compute_output_shape(self, input_shape):
        q, v, k = (tuple(s) for s in input_shape)
        return self.layer.compute_output_shape(q, v, k)

    def _dense(self, name: str):
        return getattr(self.layer, f"_{'output' if name == 'attention_output' else name}_dense")

    def _kernel(self, name: str):
        """(folded 2-D kernel (inputs, outputs), folded bias (outputs,))."""
        dense = self._dense(name)
        k = dense.kernel
        rows = int(k.shape[0]) * (int(k.shape[1]) if name == "attention_output" else 1)
        k2 = ops.reshape(k, (rows, -1))
        bias = ops.reshape(dense.bias, (-1,)) if dense.bias is not None else ops.zeros((k2.shape[1],))
        if name == "query":
            s = 1.0 / math.sqrt(float(self.layer.key_dim))
            return k2 * s, bias * s
        return k2, bias

    def quantized(self) -> dict:
        out = {}
        for name in self.PROJECTIONS:
            k2, b = self._kernel(name)
            codes, scale = _INT8.quantize(k2, 1)
            out[name] = tuple(ops.convert_to_numpy(v) for v in (codes, scale, k2, b))
        return out

    def _project(self, x, name: str):
        k2, b = self._kernel(name)
        return ops.matmul(x, _INT8.fake_quant(k2, 1)) + b

    def call(self, inputs, training=None):
        q_in, v_in, k_in = inputs
        heads = int(self.layer.num_heads)
        t = self.trackers
        q = t["query"](self._project(q_in, "query"), training=training)
        k = t["key"](self._project(k_in, "key"), training=training)
        v = t["value"](self._project(v_in, "value"), training=training)

        def split(a):
            s = ops.shape(a)
            return ops.transpose(ops.reshape(a, (s[0], s[1], heads, -1)), (0, 2, 1, 3))

        scores = t["scores"](ops.matmul(split(q), ops.transpose(split(k), (0, 1, 3, 2))), training=training)
        probs = self.softmax(ops.softmax(scores, axis=-1), training=training)
        ctx = t["context"](ops.matmul(probs, split(v)), training=training)
        s = ops.shape(ctx)
        ctx = ops.reshape(ops.transpose(ctx, (0, 2, 1, 3)), (s[0], s[2], -1))
        y = self._project(ctx, "attention_output")
        return self._quantize_output(y, training)
