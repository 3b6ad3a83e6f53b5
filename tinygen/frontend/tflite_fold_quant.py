"""Constant folding of DEQUANTIZE, QUANTIZE and the multi-output moves SPLIT, SPLIT_V, UNPACK (NumPy).

TF's converter sometimes leaves a piece of an int8 model float on constants only (DEQUANTIZE of a
constant -> float SPLIT -> QUANTIZE). TFLM runs those ops at runtime; tinygen folds them at import with
the same arithmetic, so the constants it keeps are the values TFLM's kernels would produce:

- DEQUANTIZE: (q - zero_point) * scale, a float32 product (per channel along the quantized axis).
- QUANTIZE (float -> integer): value / scale divided in float32, rounded half away from zero, plus the
  zero point, clamped to the output type's range (per channel along the quantized axis).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from tinygen.ir import QuantParams

INT_TYPES = ("int8", "int16", "uint8")
# the data input of each multi-output move (the others are shape operands)
MULTI_DATA_INPUT = {"SPLIT": 1, "SPLIT_V": 0, "UNPACK": 0}


def _channel_params(bad: Callable, quant: QuantParams, shape: tuple):
    """scale and zero point as float32 / int64 arrays broadcasting against a tensor of `shape`."""
    scale = np.asarray(quant.scale, dtype=np.float32)
    zero = np.asarray(quant.zero_point, dtype=np.int64)
    if len(scale) == 1:
        return scale.reshape(()), zero.reshape(())
    axis = quant.axis if quant.axis is not None else 0
    if not 0 <= axis < len(shape) or shape[axis] != len(scale) or len(zero) != len(scale):
        raise bad(f"{len(scale)} per-channel scales do not match axis {axis} of shape {list(shape)}")
    view = [1] * len(shape)
    view[axis] = len(scale)
    return scale.reshape(view), zero.reshape(view)


def dequantize(bad: Callable, data: np.ndarray, quant: QuantParams) -> np.ndarray:
    scale, zero = _channel_params(bad, quant, data.shape)
    # |q - zero_point| < 2^17 is exact in float32, so the product is rounded once, as TFLM's is
    return (data.astype(np.int64) - zero).astype(np.float32) * scale


def quantize(bad: Callable, data: np.ndarray, quant: QuantParams, dtype: str) -> np.ndarray:
    if np.isnan(data).any():
        raise bad("quantizes a NaN constant")
    scale, zero = _channel_params(bad, quant, data.shape)
    if not np.all(scale > 0):
        raise bad(f"quantizes with a non-positive scale {float(np.min(scale))}")
    with np.errstate(over="ignore"):
        ratio = data.astype(np.float32) / scale  # float32 division (may overflow to +-inf: clamped below)
    r = ratio.astype(np.float64)  # a float32 plus 0.5 is exact in float64: the rounding below is exact
    rounded = np.where(r < 0, -np.floor(-r + 0.5), np.floor(r + 0.5))
    if not np.all(np.abs(rounded) < 2.0 ** 31):
        # TFLM converts the rounded quotient to int32 first: outside int32 its result depends on the CPU
        k = int(np.argmax(np.abs(rounded) >= 2.0 ** 31))
        raise bad(f"quantizing {float(data.reshape(-1)[k]):g} leaves the int32 range (undefined in TFLite)")
    info = np.iinfo(dtype)
    return np.clip(rounded.astype(np.int64) + zero, info.min, info.max).astype(dtype)


def fold_quant(bad: Callable, name: str, ins: list, out) -> Optional[np.ndarray]:
    """DEQUANTIZE / QUANTIZE of a constant, or None when this form is not folded here."""
    src = ins[0]
    if name == "DEQUANTIZE" and src.quant is not None and src.dtype in INT_TYPES and out.dtype == "float32":
        return dequantize(bad, src.data, src.quant)
    if name == "QUANTIZE" and src.quant is None and src.dtype == "float32" and out.quant is not None \
            and out.dtype in INT_TYPES:
        return quantize(bad, src.data, out.quant, out.dtype)
    return None


def fold_multi(bad: Callable, axis_of: Callable, name: str, vals: list, options: dict, n_out: int):
    """The outputs of SPLIT / SPLIT_V / UNPACK over constants, or None when this form is not folded."""
    if name == "UNPACK":
        data = vals[0]
        if data.ndim == 0:
            raise bad("unpacks a scalar")
        axis = axis_of(int(options["Axis"]), data.ndim)
        if data.shape[axis] != n_out:
            raise bad(f"unpacks axis {axis} of size {data.shape[axis]} into {n_out} outputs")
        return [np.take(data, k, axis=axis) for k in range(n_out)]
    if len(vals) < 2 + (name == "SPLIT_V"):
        return None
    axis_v, data = (vals[0], vals[1]) if name == "SPLIT" else (vals[2], vals[0])
    if not np.issubdtype(axis_v.dtype, np.integer) or axis_v.size != 1:
        raise bad(f"axis is a {axis_v.dtype} tensor of {axis_v.size} values, expected one integer")
    if data.ndim == 0:
        raise bad("splits a scalar")
    axis = axis_of(int(axis_v.reshape(-1)[0]), data.ndim)
    size = data.shape[axis]
    if name == "SPLIT":
        if n_out == 0 or size % n_out:
            raise bad(f"axis {axis} of size {size} does not split into {n_out} equal parts")
        return np.split(data, n_out, axis=axis)
    sizes = vals[1]
    if not np.issubdtype(sizes.dtype, np.integer) or sizes.size != n_out:
        raise bad(f"size_splits has {sizes.size} values for {n_out} outputs")
    sizes = [int(s) for s in sizes.reshape(-1)]
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = size - (sum(sizes) + 1)
    if any(s < 0 for s in sizes) or sum(sizes) != size:
        raise bad(f"size_splits {vals[1].reshape(-1).tolist()} do not split axis {axis} of size {size}")
    return np.split(data, np.cumsum(sizes)[:-1], axis=axis)
