"""Fake quantizers for quantization-aware training: weights, activations and gradients (keras.ops).

Each weight scheme is one `WeightQuantizer` subclass: `quantize(w, axis)` returns integer codes and
per-channel scales, and fake quantization is `codes * scale` with a straight-through gradient, so the
exported integers are exactly what training saw. Codes are stored as int8; a quantizer's `encoding`
names the low-bit storage its codes always fit (tinygen.quant.weights: "int4", "ternary", "binary",
"kmeansB"; None = plain int8), and the exporter marks the weight tensor with it so the model compiles
to the packed kernels (tinygen.lower.lowbit). A new scheme subclasses `WeightQuantizer` and registers
itself under a name in `WEIGHT_QUANTIZERS`.
"""
from __future__ import annotations

import keras
import numpy as np
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
    encoding = None  # low-bit storage the codes always fit (tinygen.quant.weights scheme), None = int8
    stateful = False  # True: holds per-layer state (a codebook), so every layer gets its own copy

    @property
    def name(self) -> str:
        """The scheme's name in reports ("int4", "ternary", "kmeans2", ...)."""
        return self.scheme

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

    @property
    def name(self) -> str:
        return f"int{self.bits}"

    @property
    def encoding(self):
        """Codes in [-qmax, qmax]: 2 bits -> {-1, 0, 1} (ternary storage), 3-4 bits -> int4, else int8."""
        return "ternary" if self.bits == 2 else "int4" if self.bits <= 4 else None

    def get_config(self) -> dict:
        return {"bits": self.bits, "per_channel": self.per_channel}


@_register("ternary")
class TernaryQuantizer(WeightQuantizer):
    """Codes in {-1, 0, 1}, scale the mean |w| of the kept weights, per channel.

    threshold="twn" (default): keep |w| > 0.7 * mean|w| (Li et al., TWN). threshold="optimal": keep the
    k largest |w| with k maximising (sum of the top k)^2 / k, the least-squares optimum that
    tinygen.quant.weights uses for ternary PTQ.
    """

    qmax = 1
    encoding = "ternary"

    def __init__(self, threshold: str = "twn"):
        if threshold not in ("twn", "optimal"):
            raise ValueError(f"TernaryQuantizer: threshold={threshold!r}: use 'twn' or 'optimal'")
        self.threshold = threshold

    def quantize(self, w, axis: int):
        reduce = tuple(i for i in range(len(w.shape)) if i != axis)
        if self.threshold == "twn":
            thr = 0.7 * ops.mean(ops.abs(w), axis=reduce)
            mask = ops.cast(ops.abs(w) > _channel_shape(thr, w, axis), w.dtype)
        else:
            rows = ops.reshape(ops.moveaxis(ops.abs(w), axis, 0), (w.shape[axis], -1))
            mags = ops.flip(ops.sort(rows, axis=1), axis=1)  # descending
            csum = ops.cumsum(mags, axis=1)
            k = ops.arange(1, rows.shape[1] + 1, dtype=w.dtype)
            best = ops.argmax(csum * csum / k, axis=1)
            thr = ops.squeeze(ops.take_along_axis(mags, ops.expand_dims(best, 1), axis=1), 1)
            mask = ops.cast((ops.abs(w) >= _channel_shape(thr, w, axis)) & (ops.abs(w) > 0), w.dtype)
        count = ops.sum(mask, axis=reduce)
        scale = ops.where(count > 0, ops.sum(ops.abs(w) * mask, axis=reduce) / ops.maximum(count, 1.0),
                          ops.ones_like(count))
        return ops.sign(w) * mask, scale

    def get_config(self) -> dict:
        return {"threshold": self.threshold}


@_register("binary")
class BinaryQuantizer(WeightQuantizer):
    """Codes in {-1, 1}, scale mean|w| per channel (XNOR-Net); zero weights map to +1."""

    qmax = 1
    encoding = "binary"

    def quantize(self, w, axis: int):
        reduce = tuple(i for i in range(len(w.shape)) if i != axis)
        mean = ops.mean(ops.abs(w), axis=reduce)
        scale = ops.where(mean > 0, mean, ops.ones_like(mean))
        return ops.where(w >= 0, 1.0, -1.0), scale


@_register("kmeans")
class KMeansQuantizer(WeightQuantizer):
    """Palettized weights: one codebook of 2^bits int8 entries per layer, per-channel scales.

    The codebook is clustered ONCE, at the start of QAT, by tinygen's PTQ k-means
    (tinygen.quant.weights.quantize(w, axis, "kmeansB")) on the layer's folded float weights, and then
    stays fixed (it is part of the config, so a saved model keeps it). Every forward pass re-derives
    the per-channel scales and assignments from the current weights exactly as the PTQ k-means does
    after clustering: scale = max|w| / 127, then `refit` rounds of {codes = nearest codebook entry to
    w / scale; scale = least-squares fit sum(w * codes) / sum(codes^2)}, then the final nearest-entry
    codes. Straight-through gradient through the nearest-centroid projection, so weights can move
    between centroids while training. The exported codes are codebook entries (at most 2^bits distinct
    int8 values per layer), stored as `kmeansB` palette indices.
    """

    stateful = True

    def __init__(self, bits: int = 4, codebook=None, refit: int = 3):
        if bits not in (2, 3, 4):
            raise ValueError(f"KMeansQuantizer: bits={bits} is not 2, 3 or 4")
        self.bits = int(bits)
        self.refit = int(refit)
        self.codebook = None if codebook is None else [int(v) for v in codebook]
        if self.codebook is not None and (len(self.codebook) > (1 << self.bits) or
                                          any(not -127 <= v <= 127 for v in self.codebook)):
            raise ValueError(f"KMeansQuantizer: codebook {self.codebook} does not fit kmeans{self.bits}")

    @property
    def name(self) -> str:
        return f"kmeans{self.bits}"

    @property
    def encoding(self) -> str:
        return f"kmeans{self.bits}"

    @property
    def qmax(self) -> int:
        return max((abs(v) for v in self.codebook), default=127) if self.codebook else 127

    @property
    def initialized(self) -> bool:
        return self.codebook is not None

    def initialize(self, w, axis: int) -> None:
        """Cluster float NumPy weights `w` (channels along `axis`) with tinygen's PTQ k-means."""
        from tinygen.quant import weights as wq

        res = wq.quantize(np.asarray(w, np.float64), axis, self.name)
        # the PTQ codebook is zero-padded when k-means finds fewer distinct entries: keep the set
        self.codebook = [int(v) for v in np.unique(res.codebook)]

    def _project(self, v, book, edges):
        """Nearest codebook entry to every element of v (ties go to the lower entry, as searchsorted)."""
        if edges is None:
            return ops.zeros_like(v) + book[0]
        idx = ops.sum(ops.cast(ops.expand_dims(v, -1) > edges, "int32"), axis=-1)
        return ops.take(book, idx)

    def quantize(self, w, axis: int):
        if self.codebook is None:
            raise RuntimeError("KMeansQuantizer: no codebook yet; QuantizedLayer clusters the weights when it "
                               "is built (or call initialize(w, axis))")
        book_np = np.asarray(self.codebook, np.float32)
        book = ops.convert_to_tensor(book_np, dtype=w.dtype)
        edges = ops.convert_to_tensor((book_np[1:] + book_np[:-1]) / 2, dtype=w.dtype) if book_np.size > 1 else None
        reduce = tuple(i for i in range(len(w.shape)) if i != axis)
        absmax = _absmax(w, axis)
        scale = ops.where(absmax > 0, absmax / 127.0, ops.ones_like(absmax))
        for _ in range(self.refit):
            q = self._project(w / _channel_shape(scale, w, axis), book, edges)
            num, den = ops.sum(w * q, axis=reduce), ops.sum(q * q, axis=reduce)
            scale = ops.where((den > 0) & (num > 0), num / ops.maximum(den, 1e-30), scale)
        return self._project(w / _channel_shape(scale, w, axis), book, edges), scale

    def get_config(self) -> dict:
        return {"bits": self.bits, "codebook": self.codebook, "refit": self.refit}


def weight_quantizer(spec) -> WeightQuantizer:
    """"int8", "int4" (any "intN", N in 2..8), "ternary", "binary", "kmeans4" / "kmeans3" / "kmeans2"
    or a WeightQuantizer instance."""
    if isinstance(spec, WeightQuantizer):
        return spec
    if isinstance(spec, str) and spec.startswith("int") and spec[3:].isdigit():
        return IntQuantizer(int(spec[3:]))
    if isinstance(spec, str) and spec.startswith("kmeans") and spec[6:].isdigit():
        return KMeansQuantizer(int(spec[6:]))
    if isinstance(spec, str) and spec in WEIGHT_QUANTIZERS and spec not in ("int", "kmeans"):
        return WEIGHT_QUANTIZERS[spec]()
    raise ValueError(f"unknown weight scheme {spec!r}: use int8, int4, ternary, binary, kmeans4, kmeans3, "
                     "kmeans2 or a WeightQuantizer")


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
