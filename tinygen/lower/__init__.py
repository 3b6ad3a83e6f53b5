"""Kernel lowering rules; importing a module registers its kernels (see base.py for the contract)."""
from __future__ import annotations

import importlib
import pkgutil

# One module per family; each registers its Kernel subclasses on import.
_MODULES = (
    "conv",         # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED (portable)
    "fast",         # SIMD (DSP) variants of those three, registered ahead of the portable ones
    "lowbit",       # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED with int4 / palettized / ternary / binary weights (ahead of all)
    "inplace",      # in-place variants the scheduler swaps in where they lower the peak
    "pool",         # AVERAGE_POOL_2D, MAX_POOL_2D, MEAN
    "elementwise",  # ADD, SUB, MUL
    "shape",        # RESHAPE, CONCATENATION, PAD
    "activation",   # SOFTMAX, LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH, QUANTIZE, DEQUANTIZE
    "int16",        # 16x8: CONV_2D, TRANSPOSE_CONV, ADD, SUB (and the int64 requantization they share)
    "int16_unary",  # 16x8: LEAKY_RELU, QUANTIZE, DEQUANTIZE, PAD
    "int16_nn",     # 16x8: FULLY_CONNECTED, DEPTHWISE_CONV_2D, pools, MEAN, CONCATENATION, MUL
    "int16_act",    # 16x8: SOFTMAX, LOGISTIC, TANH
)
_NOT_FAMILIES = ("base", "bounds", "csig")  # machinery, not kernel families
_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    # the ordered families first (their order is the kernels' priority), then any other module of this
    # package: a new op family registers by existing
    others = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _MODULES + _NOT_FAMILIES)
    for name in _MODULES + tuple(others):
        importlib.import_module(f"{__name__}.{name}")
    _loaded = True


# Loaded with the package, so that importing any one lowering module (a test importing tinygen.lower.mve, say)
# still registers every family in the order above: the kernels' priority never depends on import order.
load_all()
