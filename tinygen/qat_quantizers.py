"""Fake quantizers for quantization-aware training: weights, activations and gradients (keras.ops).

Each weight scheme is one `WeightQuantizer` subclass: `quantize(w, axis)` returns integer codes and
per-channel scales, and fake quantization is `codes * scale` with a straight-through gradient, so the
exported integers are exactly what training saw. int8 / int4 / ternary / binary codes all lie in
[-127, 127] and run on tinygen's int8 kernels bit-exactly; a new scheme (e.g. palettized k-means)
subclasses `WeightQuantizer` and registers itself under a name in `WEIGHT_QUANTIZERS`.
"""
from __future__ import annotations

import keras
from keras import ops

QMIN, QMAX = -128, 127  # int8 activations
WEIGHT_QUANTIZERS: dict = {}  # scheme name ("int8", "int4", ...) -> WeightQuantizer subclass


def round_away(x):
    """Round half away from zero, as tinygen's PTQ and TFLite round (ops.round rounds half to even)."""
    return ops.sign(x) * ops.floor(ops.abs(x) + 0.5)


def straight_through(x, x_q):
    """x_q in the forward pass, identity gradient to x in the backward pass."""
    return x + ops.stop_gradient(x_q - x)


def _register(name: str):
    def deco(cls):
        cls.scheme = name
        WEIGHT_QUANTIZERS[name] = cls
        return keras.saving.register_keras_serializable(package="tinygen")(cls)
    return deco


class WeightQuantizer:
    """Per-output-channel symmetric weight quantizer; subclasses define `quantize`."""

    scheme = "abstract"
    qmax = 127  # largest |code|; the codes are stored as int8

    def quantize(self, w, axis: int):
        """(codes, scale): float tensors, codes integral in [-qmax, qmax], scale of shape (w.shape[axis],)."""
        raise NotImplementedError

    def fake_quant(self, w, axis: int):
        codes, scale = self.quantize(ops.stop_gradient(w), axis)
        return straight_through(w, codes * _channel_shape(scale, w, axis))

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


def _channel_shape(v, w, axis: int):
    shape = [1] * len(w.shape)
    shape[axis] = -1
    return ops.reshape(v, shape)


def _absmax(w, axis: int):
    reduce = tuple(i for i in range(len(w.shape)) if i != axis)
    return ops.max(ops.abs(w), axis=reduce)


@_register("int")
class IntQuantizer(WeightQuantizer):
    """Symmetric `bits`-bit integers, scale = max|w| / (2^(bits-1) - 1) per channel (int8: +-127).

    per_channel=False uses one scale for the whole tensor (exported as equal per-channel scales).
    """

    def __init__(self, bits: int = 8, per_channel: bool = True):
        if not 2 <= bits <= 8:
            raise ValueError(f"IntQuantizer: bits={bits} is not in 2..8")
        self.bits = int(bits)
        self.per_channel = bool(per_channel)
        self.qmax = (1 << (self.bits - 1)) - 1

    def quantize(self, w, axis: int):
        absmax = _absmax(w, axis)
        if not self.per_channel:
            absmax = ops.max(absmax) * ops.ones_like(absmax)
        scale = ops.where(absmax > 0, absmax / float(self.qmax), ops.ones_like(absmax))
        codes = ops.clip(round_away(w / _channel_shape(scale, w, axis)), -self.qmax, self.qmax)
        return codes, scale

    def get_config(self) -> dict:
        return {"bits": self.bits, "per_channel": self.per_channel}


@_register("ternary")
class TernaryQuantizer(WeightQuantizer):
    """Codes in {-1, 0, 1}: threshold 0.7 * mean|w|, scale the mean |w| above it (Li et al., TWN)."""

    qmax = 1

    def quantize(self, w, axis: int):
        reduce = tuple(i for i in range(len(w.shape)) if i != axis)
        thr = 0.7 * ops.mean(ops.abs(w), axis=reduce)
        mask = ops.cast(ops.abs(w) > _channel_shape(thr, w, axis), w.dtype)
        count = ops.sum(mask, axis=reduce)
        scale = ops.where(count > 0, ops.sum(ops.abs(w) * mask, axis=reduce) / ops.maximum(count, 1.0),
                          ops.ones_like(count))
        return ops.sign(w) * mask, scale


@_register("binary")
class BinaryQuantizer(WeightQuantizer):
    """Codes in {-1, 1}, scale mean|w| per channel (XNOR-Net); zero weights map to +1."""

    qmax = 1

    def quantize(self, w, axis: int):
        reduce = tuple(i for i in range(len(w.shape)) if i != axis)
        mean = ops.mean(ops.abs(w), axis=reduce)
        scale = ops.where(mean > 0, mean, ops.ones_like(mean))
        return ops.where(w >= 0, 1.0, -1.0), scale


def weight_quantizer(spec) -> WeightQuantizer:
    """"int8", "int4" (any "intN", N in 2..8), "ternary", "binary" or a WeightQuantizer instance."""
    if isinstance(spec, WeightQuantizer):
        return spec
    if isinstance(spec, str) and spec.startswith("int") and spec[3:].isdigit():
        return IntQuantizer(int(spec[3:]))
    if isinstance(spec, str) and spec in WEIGHT_QUANTIZERS and spec != "int":
        return WEIGHT_QUANTIZERS[spec]()
    raise ValueError(f"unknown weight scheme {spec!r}: use int8, int4, ternary, binary or a WeightQuantizer")


# ---- activations: per-tensor asymmetric int8, the rule of tinygen.quant.ranges.asymmetric_params ----

def activation_params(lo, hi):
    """(scale, zero_point) as float tensors for the range [lo, hi] widened to include 0."""
    lo, hi = ops.minimum(lo, 0.0), ops.maximum(hi, 0.0)
    width = hi - lo
    scale = ops.where(width > 0, width / float(QMAX - QMIN), 1.0)
    zp = ops.clip(round_away(QMIN - lo / scale), QMIN, QMAX)
    return scale, zp


def fake_quant_activation(x, lo, hi):
    """int8 fake quantization of x on [lo, hi]; gradient 1 inside the representable range, 0 outside."""
    scale, zp = activation_params(lo, hi)
    x_lo, x_hi = (QMIN - zp) * scale, (QMAX - zp) * scale
    xc = ops.clip(x, x_lo, x_hi)
    x_q = (ops.clip(round_away(xc / scale) + zp, QMIN, QMAX) - zp) * scale
    return straight_through(xc, x_q)


# ---- gradients: per-tensor symmetric, stochastic rounding ----

def quantize_gradient(g, bits: int, seed):
    """Quantize-dequantize gradient g to `bits` bits: scale max|g| / (2^(bits-1) - 1), stochastic rounding.

    floor(v + u), u ~ U[0, 1), is unbiased: E[floor(v + u)] = v, so SGD stays unbiased while the
    stored / communicated gradient needs `bits` bits per value plus one float32 scale per tensor.
    """
    qmax = float((1 << (bits - 1)) - 1)
    absmax = ops.max(ops.abs(g))
    scale = ops.where(absmax > 0, absmax / qmax, 1.0)
    u = keras.random.uniform(ops.shape(g), dtype=g.dtype, seed=seed)
    q = ops.clip(ops.floor(g / scale + u), -qmax, qmax)
    return q * scale


def gradient_bytes(model, bits) -> tuple:
    """(fp32 bytes, quantized bytes) of one full set of gradients: bits per value + a float32 scale each."""
    weights = model.trainable_weights
    n = sum(int(ops.size(w)) for w in weights)
    fp32 = 4 * n
    if not bits:
        return fp32, fp32
    return fp32, sum((int(ops.size(w)) * bits + 7) // 8 + 4 for w in weights)
