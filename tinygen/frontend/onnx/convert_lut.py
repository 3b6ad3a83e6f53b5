"""ONNX element-wise operators with no TFLite integer kernel -> tinygen's LUT op (tinygen/ops/lut.py): one
table of the exact float function, computed at build time from the calibrated input and output ranges
(int8: 256 entries; int16: 513 with interpolation). The op keeps its input's layout.

Gelu (approximate "none" / "tanh"; also what `patterns.py` makes of PyTorch's exported Erf / Tanh chains),
Erf, Softplus, Softsign, Selu, Celu, Mish, Elu with alpha other than 1 (alpha 1 is TFLite's ELU), Exp, Log,
Sqrt, Reciprocal, Sin, Cos, Atan, Sinh, Cosh, Asinh, ThresholdedRelu, Shrink, Pow by a constant scalar.
"""
from __future__ import annotations

import numpy as np

from tinygen.frontend.onnx.builder import Builder
from tinygen.frontend.onnx.convert_misc import _same_layout, elu as _elu_one
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind
from tinygen.ops.lut import LutAttrs


def _lut(b: Builder, function: str, *params) -> None:
    attrs_ = LutAttrs(function, tuple(float(p) for p in params))
    b.set(0, _same_layout(b, b.act_input(0), OpKind.LUT, attrs_))


def plain(function: str):
    def convert(b: Builder) -> None:
        _lut(b, function)
    return convert


def gelu(b: Builder) -> None:
    approximate = attrs(b.node).get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise b.fail(f"approximate '{approximate}' is not supported ('none' or 'tanh')")
    _lut(b, "gelu" if approximate == "none" else "gelu_tanh")


def selu(b: Builder) -> None:
    a = attrs(b.node)
    _lut(b, "selu", a.get("alpha", 1.67326319217681884765625), a.get("gamma", 1.05070102214813232421875))


def celu(b: Builder) -> None:
    alpha = attrs(b.node).get("alpha", 1.0)
    if alpha == 0:
        raise b.fail("alpha 0 is not supported (CELU divides by it)")
    _lut(b, "celu", alpha)


def elu(b: Builder) -> None:
    alpha = attrs(b.node).get("alpha", 1.0)
    if abs(alpha - 1.0) <= 1e-7:
        _elu_one(b)  # TFLite's ELU
    else:
        _lut(b, "elu", alpha)


def thresholded_relu(b: Builder) -> None:
    _lut(b, "threshold", attrs(b.node).get("alpha", 1.0), 0.0)


def shrink(b: Builder) -> None:
    a = attrs(b.node)
    _lut(b, "shrink", a.get("lambd", 0.5), a.get("bias", 0.0))


def power(b: Builder) -> None:
    p = b.const_input(1, "exponent")
    if np.size(p) != 1:
        raise b.fail(f"an exponent of shape {list(np.shape(p))} is not supported (one constant)")
    p = float(np.asarray(p).reshape(-1)[0])
    if p == 1.0:
        b.set(0, b.act_input(0))
    elif p == 2.0:
        _lut(b, "square")
    else:
        _lut(b, "pow", p)


CONVERTERS = {
    "Gelu": gelu, "Selu": selu, "Celu": celu, "Elu": elu, "ThresholdedRelu": thresholded_relu,
    "Shrink": shrink, "Pow": power,
    "Erf": plain("erf"), "Softplus": plain("softplus"), "Softsign": plain("softsign"), "Mish": plain("mish"),
    "Exp": plain("exponential"), "Log": plain("log"), "Sqrt": plain("sqrt"), "Reciprocal": plain("reciprocal"),
    "Sin": plain("sin"), "Cos": plain("cos"), "Atan": plain("arctan"), "Sinh": plain("sinh"),
    "Cosh": plain("cosh"), "Asinh": plain("arcsinh"),
}
