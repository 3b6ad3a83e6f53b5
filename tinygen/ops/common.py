"""Helpers the op families share: fused activations and sliding windows for the float reference,
accumulator limits for the bounds rules, TFLite option codes for the export rules, Keras converter errors."""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinygen import ir
from tinygen.errors import UnsupportedError
from tinygen.ir import Activation, Graph

# ---- float reference ---------------------------------------------------------------------------


def act(a: Activation, y: np.ndarray) -> np.ndarray:
    """A fused activation applied in float."""
    if a == Activation.RELU:
        return np.maximum(y, 0)
    if a == Activation.RELU6:
        return np.clip(y, 0, 6)
    if a == Activation.RELU_N1_TO_1:
        return np.clip(y, -1, 1)
    return y


def windows(x, kh, kw, a, pad_value=0.0):
    """Sliding windows (N, OH, OW, C, KH, KW) of the explicitly padded input."""
    p = a.padding
    xp = np.pad(x, ((0, 0), (p.top, p.bottom), (p.left, p.right), (0, 0)), constant_values=pad_value)
    dh, dw = getattr(a, "dilation_h", 1), getattr(a, "dilation_w", 1)
    win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    return win[:, ::a.stride_h, ::a.stride_w, :, ::dh, ::dw]


# ---- accumulator bounds ------------------------------------------------------------------------

INT32_MAX = (1 << 31) - 1
INT64_ACC_LIMIT = (1 << 47) - 1  # |acc| < 2^47: TFLM's and tinygen's int64 requantize assume it


def input_range(graph: Graph, name: str, ranges: Optional[dict]) -> tuple:
    """Quantized (lo, hi) of tensor `name`: from `ranges` if given, else its dtype's full range."""
    if ranges and name in ranges:
        lo, hi = ranges[name]
        return int(lo), int(hi)
    info = np.iinfo(np.dtype(graph.tensors[name].dtype))
    return int(info.min), int(info.max)


def acc_limit(graph: Graph, x_name: str) -> int:
    """The largest |acc| a weighted layer's accumulator may reach (int64 for int16 inputs, else int32)."""
    return INT64_ACC_LIMIT if graph.tensors[x_name].dtype == "int16" else INT32_MAX


# ---- TFLite export -----------------------------------------------------------------------------

TFLITE_ACT = {Activation.NONE: 0, Activation.RELU: 1, Activation.RELU_N1_TO_1: 2, Activation.RELU6: 3}
TFLITE_SAME, TFLITE_VALID = 0, 1


def tflite_padding_code(in_shape: tuple, k: tuple, s: tuple, d: tuple, p: ir.Padding):
    """SAME or VALID if the explicit padding is exactly what TFLite would compute, else None."""
    top, bottom, _ = ir.same_padding(in_shape[1], k[0], s[0], d[0])
    left, right, _ = ir.same_padding(in_shape[2], k[1], s[1], d[1])
    if (p.top, p.bottom, p.left, p.right) == (0, 0, 0, 0):
        return TFLITE_VALID
    if (p.top, p.bottom, p.left, p.right) == (top, bottom, left, right):
        return TFLITE_SAME
    return None


def export_no_options(w, op: ir.Op, ins: list, outs: list) -> None:
    """The TFLite operator named like the op kind, with no options table."""
    w.emit(op.kind.value, ins, outs)


# ---- Keras converters --------------------------------------------------------------------------


def keras_fail(layer, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{layer.name}' ({type(layer).__name__}): {why}")


def keras_padding(layer, cfg, in_hw, k_hw, s_hw, d_hw) -> ir.Padding:
    """Explicit padding for a Keras layer's padding='valid' / 'same'."""
    pad = cfg.get("padding", "valid")
    if pad == "valid":
        return ir.Padding()
    if pad == "same":
        (t, b, _), (l, r, _) = (ir.same_padding(i, k, s, d) for i, k, s, d in zip(in_hw, k_hw, s_hw, d_hw))
        return ir.Padding(t, b, l, r)
    raise keras_fail(layer, f"padding '{pad}' is not supported")


def keras_expand(b, layer, x: str) -> str:
    """(1, W, C) -> (1, 1, W, C): how a 1-D Keras layer runs as the 2-D op."""
    _, wd, c = b.shape(x)
    return b.op(ir.OpKind.RESHAPE, f"{layer.name}/expand", [x], (1, 1, wd, c), ir.ReshapeAttrs())
