"""Constant folding at import: a node whose inputs are all known becomes a constant, as does Shape of any
value (its ONNX shape is static). PyTorch's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains
reduce to a constant target shape this way."""
from __future__ import annotations

import numpy as np

from tinygen.frontend.onnx.builder import Builder, Val


def attrs(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if hasattr(v, "dims") and hasattr(v, "data_type"):  # a TensorProto
            from onnx import numpy_helper
            v = numpy_helper.to_array(v)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _constant(node, a: dict) -> np.ndarray:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            v = np.asarray(a[key])
            return v.astype(np.float32) if v.dtype == np.float64 else v
    raise ValueError(f"Constant with attributes {sorted(a)} is not supported")


def _slice(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        idx[int(ax)] = slice(int(s), int(e), int(st))  # Python slicing clamps as ONNX does
    return x[tuple(idx)]


def _unsqueeze(x, axes):
    axes = sorted(int(a) % (x.ndim + len(axes)) for a in axes)
    for a in axes:
        x = np.expand_dims(x, a)
    return x


def _squeeze(x, axes=None):
    return np.squeeze(x) if axes is None else np.squeeze(x, tuple(int(a) for a in axes))


def _reshape(x, shape, allowzero=0):
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


_CAST = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}

_FOLD = {
    "Gather": lambda a, x, i: np.take(x, i.astype(np.int64), axis=a.get("axis", 0)),
    "Unsqueeze": lambda a, x, axes=None: _unsqueeze(x, a["axes"] if axes is None else axes),
    "Squeeze": lambda a, x, axes=None: _squeeze(x, a.get("axes") if axes is None else axes),
    "Concat": lambda a, *xs: np.concatenate(xs, axis=a["axis"]),
    "Reshape": lambda a, x, s: _reshape(x, s, a.get("allowzero", 0)),
    "Cast": lambda a, x: x.astype(_CAST.get(a["to"], np.float32)),
    "Slice": lambda a, x, *rest: _slice(x, *rest),
    "Add": lambda a, x, y: x + y, "Sub": lambda a, x, y: x - y, "Mul": lambda a, x, y: x * y,
    "Div": lambda a, x, y: (np.trunc(x / y).astype(x.dtype) if np.issubdtype(x.dtype, np.integer) else x / y),
    "Neg": lambda a, x: -x, "Sqrt": lambda a, x: np.sqrt(x), "Floor": lambda a, x: np.floor(x),
    "Transpose": lambda a, x: np.transpose(x, a.get("perm")),
    "Flatten": lambda a, x: x.reshape(int(np.prod(x.shape[:a.get("axis", 1)])), -1),
    "ConstantOfShape": lambda a, s: np.full(tuple(int(d) for d in s), a.get("value", np.zeros(1, np.float32)).reshape(-1)[0]),
    "Range": lambda a, s, e, d: np.arange(s, e, d),
    "Equal": lambda a, x, y: x == y, "Where": lambda a, c, x, y: np.where(c, x, y),
    "Expand": lambda a, x, s: np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(int(d) for d in s))).copy(),
    "ReduceProd": lambda a, x, axes=None: np.prod(
        x, axis=None if (axes if axes is not None else a.get("axes")) is None
        else tuple(int(i) for i in (axes if axes is not None else a["axes"])), keepdims=bool(a.get("keepdims", 1))),
}


def try_fold(b: Builder, node) -> bool:
    """Fold `node` to constants when it can be; True when it was."""
    a = attrs(node)
    if node.op_type == "Constant":
        b.set(0, _const_val(_constant(node, a)))
        return True
    if node.op_type == "Shape":
        v = b.get(node.input[0])
        shape = np.asarray(v.shape, dtype=np.int64)
        b.set(0, _const_val(shape[a.get("start", 0):a.get("end", len(shape))]))
        return True
    if node.op_type == "Size":
        b.set(0, _const_val(np.asarray(int(np.prod(b.get(node.input[0]).shape)), np.int64)))
        return True
    fn = _FOLD.get(node.op_type)
    ins = [b.get(n) if n else None for n in node.input]
    if fn is None or not ins or not all(v is not None and v.is_const for v in ins):
        return False
    try:
        out = fn(a, *[v.const for v in ins])
    except Exception as e:
        raise b.fail(f"cannot fold constant inputs: {e}") from e
    b.set(0, _const_val(np.asarray(out)))
    return True


def _const_val(x: np.ndarray) -> Val:
    x = np.asarray(x)
    if x.dtype == np.float64:
        x = x.astype(np.float32)
    return Val(tuple(x.shape), const=x)
