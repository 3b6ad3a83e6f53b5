"""Per-layer weight schemes on top of post-training quantization.

`resolve` turns the user's choice (one scheme for every layer, or a {layer: scheme} table) into a
table over the graph's weighted layers; `apply` re-quantizes those layers' weights of an int8 graph
from the float graph with their scheme (tinygen.quant.weights), re-derives their int32 biases at the
new scales and marks the weight tensors with their storage `encoding` for lowering.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.errors import TinygenError
from tinygen.options import OptionError, literal
from tinygen.ir import Graph, OpKind, QuantParams
from tinygen.quant import weights as wq
from tinygen.quant import snap

WEIGHT_AXIS = {OpKind.CONV_2D: 0, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 0}


def weighted_layers(graph: Graph) -> list:
    """Ops whose constant filter a weight scheme applies to, in execution order."""
    return [op for op in graph.ops if op.kind in WEIGHT_AXIS and len(op.inputs) > 1
            and op.inputs[1] is not None and graph.tensors[op.inputs[1]].is_const]


def resolve(graph: Graph, weights) -> dict:
    """{layer name: scheme} for every weighted layer; `weights` is a scheme name or a partial table
    keyed by layer name or op kind (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED), in that precedence;
    a '*' entry sets the default, else int8."""
    layers = weighted_layers(graph)
    if weights is None:
        weights = "int8"
    if isinstance(weights, str):
        wq.check_scheme(weights, "{weights}")
        return {op.name: weights for op in layers}
    if not isinstance(weights, dict):
        raise OptionError(f"{{weights}} must be a scheme name or a {{{{layer: scheme}}}} table, "
                          f"not {type(weights).__name__}")
    default = wq.check_scheme(str(weights.get("*", "int8")), "{weights} '*'")
    known = {op.name for op in layers}
    kinds = {k.value for k in WEIGHT_AXIS}
    for name, scheme in weights.items():
        if name != "*" and name not in known and name not in kinds:
            near = ", ".join(sorted(known)[:8])
            raise OptionError(f"{{weights}}: no layer with weights is named '{literal(name)}' (layers: {literal(near)}"
                               f"{', ...' if len(known) > 8 else ''}; or an op kind: {', '.join(sorted(kinds))})")
        wq.check_scheme(str(scheme), f"{{weights}} '{literal(name)}'")
    return {op.name: str(weights.get(op.name, weights.get(op.kind.value, default))) for op in layers}


def apply(fgraph: Graph, q: Graph, table: dict) -> None:
    """Re-quantize the weights (and biases) of `q`'s layers named in `table` whose scheme is not int8."""
    done = set()
    for op in weighted_layers(q):
        scheme = table.get(op.name, "int8")
        w_name = op.inputs[1]
        if scheme == "int8" or w_name in done:
            continue
        if scheme == "int8c":  # PTQ's int8 values, stored one byte per weight
            q.tensors[w_name] = dataclasses.replace(q.tensors[w_name], encoding="int8c")
            done.add(w_name)
            continue
        if q.tensors[op.inputs[0]].dtype != "int8":
            raise TinygenError(f"layer '{op.name}': {scheme} weights need int8 activations, "
                               f"its input is {q.tensors[op.inputs[0]].dtype}")
        done.add(w_name)
        axis = WEIGHT_AXIS[op.kind]
        fw = fgraph.tensors[w_name].data.astype(np.float64)
        in_scale = np.float64(q.tensors[op.inputs[0]].scale)
        b_name = op.inputs[2] if len(op.inputs) > 2 else None
        floor = None
        if b_name is not None:  # keep |bias| within 2^30 at in_scale * w_scale (as ptq does for int8)
            floor = np.abs(fgraph.tensors[b_name].data.astype(np.float64)) / (in_scale * float(1 << 30))
        res = wq.quantize(fw, axis, scheme, min_scale=floor)
        scales = snap.layer_scales(q, op, res.scales)  # TFLM's multipliers exact in the kernels' 19 bits
        w = q.tensors[w_name]
        q.tensors[w_name] = dataclasses.replace(w, dtype="int8", data=res.values, encoding=scheme,
                                                quant=QuantParams.make(scales, 0, axis))
        if b_name is not None:
            b_scale = in_scale * scales
            qb = np.sign(fgraph.tensors[b_name].data / b_scale) * np.floor(
                np.abs(fgraph.tensors[b_name].data.astype(np.float64) / b_scale) + 0.5)
            qb = np.clip(qb, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
            q.tensors[b_name] = dataclasses.replace(q.tensors[b_name], dtype="int32", data=qb,
                                                    quant=QuantParams.make(b_scale, 0, 0))


def summary(q: Graph) -> dict:
    """{layer: scheme} actually stored in a quantized graph."""
    return {op.name: (q.tensors[op.inputs[1]].encoding or "int8") for op in weighted_layers(q)}


def weight_bytes(lowered) -> int:
    """Flash of the weighted layers' weights as lowered: packed weights, codebooks, per-channel
    multipliers and shifts (biases, int32 in every scheme, left out)."""
    return sum(int(a.data.nbytes) for lop in lowered if lop.op.kind in WEIGHT_AXIS
               for a in lop.const_arrays if a.suffix != "bias")


def int8_weight_bytes(graph: Graph) -> int:
    """The same measure for int8 at one byte per weight with TFLite's int32 multiplier and int32 shift
    per output channel: the baseline the low-bit schemes are compared with."""
    total = 0
    for op in weighted_layers(graph):
        w = graph.tensors[op.inputs[1]]
        total += w.size + 8 * w.shape[WEIGHT_AXIS[op.kind]]
    return total
