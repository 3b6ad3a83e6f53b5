"""LUT: tinygen's own element-wise op for a Keras activation TFLite has no integer builtin for
(gelu, selu, softplus, mish, exponential, celu, log_sigmoid, the shrinks, hard_tanh, sparse_plus,
sparse_sigmoid, squareplus, relu with a threshold or a clipped negative slope; keras.ops sin, cos, erf,
expm1, square, negative, arctan, sinh, cosh, arcsinh), and ONNX's Gelu and PyTorch's GELU chains, Erf,
Softplus, Softsign, Selu, Celu, Mish, Exp, Log, Sqrt, Reciprocal, Sin, Cos, ThresholdedRelu, Shrink, Pow
(tinygen/frontend/onnx/convert_lut.py, patterns.py).

The function is evaluated in float64 at build time on every input code and quantized with the output's
parameters: int8 is a 256-entry table (`tg_lut_s8`); int16 a 513-entry table sampled every 128 input
codes with linear interpolation between samples (`tg_lut_interp_s16`, lower/lut.py). TFLite has no such
operator, so a model holding one cannot be exported for TFLM; its error against the float model is
measured in docs/quantization.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext, check_same_shape
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, register

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


@dataclass(frozen=True)
class LutAttrs:
    function: str  # a key of FUNCTIONS
    params: tuple = ()  # the function's parameters (relu: negative_slope, max_value or None, threshold)


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def _gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf, otypes=[np.float64])(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _selu(x, alpha=_SELU_ALPHA, scale=_SELU_SCALE):
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's relu with all its options, in the order Keras applies them."""
    y = x * (x > threshold) if threshold != 0 else np.maximum(x, 0.0)
    if max_value is not None:
        y = np.clip(y, 0.0, max_value)
    if negative_slope != 0:
        y = y - negative_slope * np.maximum(threshold - x, 0.0)
    return y


FUNCTIONS = {
    "gelu": _gelu,  # erf form (Keras approximate=False)
    "gelu_tanh": _gelu_tanh,  # tanh form (approximate=True)
    "selu": _selu,
    "softplus": _softplus,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "relu": _relu,
    "elu": lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
    "celu": lambda x, alpha=1.0: np.maximum(x, 0.0) + np.minimum(alpha * np.expm1(np.minimum(x, 0.0) / alpha), 0.0),
    "hard_shrink": lambda x, t=0.5: np.where(np.abs(x) > t, x, 0.0),
    "soft_shrink": lambda x, t=0.5: np.where(x > t, x - t, np.where(x < -t, x + t, 0.0)),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "log_sigmoid": lambda x: -_softplus(-x),
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, x, 0.25 * (x + 1) ** 2)),
    "sparse_sigmoid": lambda x: np.clip(0.5 * (x + 1), 0.0, 1.0),
    "squareplus": lambda x, b=4.0: 0.5 * (x + np.sqrt(x * x + b)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "threshold": lambda x, t, default: np.where(x > t, x, default),
    # keras.ops element-wise functions with no integer TFLite op, defined on every real input
    "sin": np.sin, "cos": np.cos, "erf": lambda x: np.vectorize(math.erf, otypes=[np.float64])(x),
    "expm1": np.expm1, "square": np.square, "negative": np.negative, "arctan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "arcsinh": np.arcsinh,
    # ONNX element-wise operators (frontend/onnx/convert_lut.py); x <= 0 outside log / sqrt's domain gives
    # their value at 0 (-inf: the lowest output code; 0), 1 / 0 is +inf (the highest code)
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "log": lambda x: np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf),
    "sqrt": lambda x: np.sqrt(np.maximum(x, 0.0)),
    "reciprocal": lambda x: np.where(x == 0, np.inf, 1.0 / np.where(x == 0, 1.0, x)),
    "shrink": lambda x, lambd=0.5, bias=0.0: np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0.0)),
    "pow": lambda x, p=3.0: np.power(x, p),
}


def evaluate(attrs: LutAttrs, x) -> np.ndarray:
    """The op's function in float64 (overflow to inf is left to the caller's clamp)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return FUNCTIONS[attrs.function](np.asarray(x, dtype=np.float64), *attrs.params)


# ---- checks, float reference -------------------------------------------------------------------


def check_function(c: CheckContext) -> None:
    """the function is one tinygen tabulates, with finite parameters"""
    if c.a.function not in FUNCTIONS:
        raise c.unsupported(f"function '{c.a.function}' is not one of {sorted(FUNCTIONS)}")
    if any(p is not None and not math.isfinite(p) for p in c.a.params):
        raise c.bad(f"parameters {list(c.a.params)} must be finite")


def check_types(c: CheckContext) -> None:
    """input and output have one type"""
    if c.ins[0].dtype != c.out.dtype:
        raise c.bad(f"input type {c.ins[0].dtype} and output type {c.out.dtype} differ")


def float_lut(op, ins, out_shape, graph):
    return evaluate(op.attrs, ins[0]).astype(np.float32)


register(OpSpec(
    OpKind.LUT, "an element-wise function tabulated at build time from its float form (Keras activations "
    "TFLite has no integer op for); int8: 256 entries, int16: 513 entries with linear interpolation",
    tflite=NotApplicable("TFLite has no table op; TF's converter writes these functions with float-only "
                         "ops (EXP, LOG, GELU)"),
    keras=NotApplicable("no layer class of its own: activation='gelu' and the others listed here, "
                        "ReLU(threshold=...), keras.ops.gelu / selu / softplus / mish / exp"),
    checks=(check_same_shape, check_types, check_function), float_ref=float_lut,
    bounds=NotApplicable("no accumulator: one table lookup per element"),
    export=NotApplicable("TFLite has no table op: a model holding one is checked against its NumPy "
                         "reference (docs/quantization.md has its error against the float model)"),
    kernels=Lowering(("int8", "int16")), attrs=LutAttrs,
    keras_activations=(("gelu", LutAttrs("gelu")), ("selu", LutAttrs("selu")),
                       ("softplus", LutAttrs("softplus")), ("mish", LutAttrs("mish")),
                       ("exponential", LutAttrs("exponential")))
    + tuple((n, LutAttrs(n)) for n in ("celu", "hard_shrink", "soft_shrink", "hard_tanh", "log_sigmoid",
                                       "sparse_plus", "sparse_sigmoid", "squareplus", "tanh_shrink")),
))
