"""Element-wise chains that compute one known function of one value become one node before conversion.

PyTorch exports nn.GELU at opsets 13-19 as a chain: TorchScript writes Div (by sqrt 2), Erf, Add 1, Mul by x,
Mul 0.5 (the tanh form as Mul / Add / Tanh nodes), dynamo Div / Erf / Add / Mul or Pow / Mul / Add / Tanh
chains, hand-written models Mul by 1/sqrt 2 and the factors in any order. Rather than matching node
sequences, `fuse` finds every region of element-wise nodes whose only computed input is one value x (the
other operands scalar constants) and whose inner values nothing else reads, evaluates the region in
float64 on probe points, and when it equals a known function (GELU, its tanh form, Mish) there, replaces
the region with one Gelu / Mish node (convert_lut.py makes it one LUT op of the exact function).
"""
from __future__ import annotations

import math

import numpy as np

from tinygen.fmath import sigmoid

_ERF = np.vectorize(math.erf, otypes=[np.float64])
_UNARY = {
    "Erf": _ERF, "Tanh": np.tanh, "Sigmoid": sigmoid, "Exp": np.exp,
    "Softplus": lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0), "Neg": np.negative,
    "Abs": np.abs, "Relu": lambda x: np.maximum(x, 0.0), "Identity": lambda x: x,
    "Log": lambda x: np.log(np.maximum(x, 1e-300)), "Sqrt": lambda x: np.sqrt(np.abs(x)),
}
_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power}
_PROBE = np.concatenate([np.linspace(-8.0, 8.0, 257), [-3.3, -0.7, -0.01, 0.013, 0.55, 1.7, 2.9]])


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _mish(x):
    return x * np.tanh(_UNARY["Softplus"](x))


# (op_type, attributes, function): the functions a region may be recognised as
KNOWN = (("Gelu", {"approximate": "none"}, lambda x: 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))),
         ("Gelu", {"approximate": "tanh"}, _gelu_tanh),
         ("Mish", {}, _mish))


def _constants(b, nodes) -> dict:
    """Scalar constants by name: initializers, Constant nodes and CastLike / Cast of them."""
    from tinygen.frontend.onnx.fold import _constant, attrs

    out = {k: np.asarray(v.const, np.float64) for k, v in b.vals.items()
           if v.is_const and v.const.size == 1 and np.issubdtype(v.const.dtype, np.number)}
    for n in nodes:
        if n.op_type == "Constant":
            try:
                c = np.asarray(_constant(n, attrs(n)))
            except ValueError:
                continue
            if c.size == 1 and np.issubdtype(c.dtype, np.number):
                out[n.output[0]] = c.astype(np.float64)
        elif n.op_type in ("Cast", "CastLike") and n.input and n.input[0] in out:
            out[n.output[0]] = out[n.input[0]]
    return out


def _regions(nodes, consts: dict) -> dict:
    """For each value computed element-wise from one value: (that root value, indices of the nodes)."""
    derived: dict = {}
    for i, n in enumerate(nodes):
        if n.op_type not in _UNARY and n.op_type not in _BINARY or len(n.output) != 1:
            continue
        ins = [t for t in n.input if t not in consts]
        if not ins or len(n.input) != (1 if n.op_type in _UNARY else 2):
            continue
        roots = {derived[t][0] if t in derived else t for t in ins}
        if len(roots) != 1:
            continue
        members = {i}.union(*(derived[t][1] for t in ins if t in derived))
        derived[n.output[0]] = (roots.pop(), frozenset(members))
    return derived


def _evaluate(nodes, region, root: str, consts: dict) -> dict:
    vals = {root: _PROBE}
    with np.errstate(all="ignore"):
        for i in sorted(region):
            n = nodes[i]
            args = [vals[t] if t in vals else consts[t] for t in n.input]
            vals[n.output[0]] = (_UNARY[n.op_type] if n.op_type in _UNARY else _BINARY[n.op_type])(*args)
    return vals


def _match(y):
    for op_type, attributes, fn in KNOWN:
        want = fn(_PROBE)
        if np.all(np.isfinite(y)) and np.all(np.abs(y - want) <= 1e-5 * (1.0 + np.abs(want))):
            return op_type, attributes
    return None


def _closed(nodes, region, out: str, readers: dict, outputs: set) -> bool:
    """Only the region reads its inner values, and none is a graph output."""
    for i in region:
        t = nodes[i].output[0]
        if t != out and (t in outputs or not readers.get(t, set()) <= region):
            return False
    return True


def _name(nodes, region, op_type: str) -> str:
    names = [nodes[i].name for i in sorted(region)]
    prefix = names[0].rsplit("/", 1)[0] if "/" in names[0] else ""
    if prefix and all(n.startswith(prefix + "/") for n in names):
        return f"{prefix}/{op_type}"
    return names[-1] or nodes[max(region)].output[0]


def _fuse_once(nodes, consts: dict, outputs: set):
    """One pass: per root, the largest region equal to a known function; None when there is none."""
    from onnx import helper

    readers: dict = {}
    for i, n in enumerate(nodes):
        for t in n.input:
            readers.setdefault(t, set()).add(i)
    best: dict = {}
    for out, (root, region) in _regions(nodes, consts).items():
        if len(region) < 2 or (root in best and len(best[root][1]) >= len(region)):
            continue
        if not _closed(nodes, region, out, readers, outputs):
            continue
        found = _match(_evaluate(nodes, region, root, consts)[out])
        if found:
            best[root] = (out, region, found)
    if not best:
        return None
    drop, put = set(), {}
    for root, (out, region, (op_type, attributes)) in best.items():
        if drop & region:
            continue
        drop |= region
        put[max(region)] = helper.make_node(op_type, [root], [out], name=_name(nodes, region, op_type), **attributes)
    return [put[i] if i in put else n for i, n in enumerate(nodes) if i in put or i not in drop]


def fuse(b, nodes, outputs) -> list:
    """`nodes` with each element-wise region that computes a known function replaced by one node."""
    nodes = list(nodes)
    consts = _constants(b, nodes)
    for _ in range(len(nodes)):
        fused = _fuse_once(nodes, consts, set(outputs))
        if fused is None:
            break
        nodes = fused
    return nodes
