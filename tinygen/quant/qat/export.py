"""Export a trained QAT model (tinygen.qat) to a quantized tinygen IR graph, ranges and weights as trained.

The float graph comes from the Keras frontend and tinygen.passes on the QAT model's inner float
layers; activation parameters come from the trained ranges (tinygen's TFLite rule), and each weight
tensor holds the integer codes and scales the fake quantizer produced, marked with the quantizer's
low-bit storage `encoding` (int4, ternary, binary, kmeansB) so it compiles to the packed kernels
(tinygen.lower.lowbit); int8 quantizers leave it unset. Light to import: Keras is
only imported when a QAT model is actually exported.
"""
from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from tinygen import ir, passes
from tinygen.errors import ModelFormatError, TinygenError, UnsupportedError
from tinygen.ir import OpKind, QuantParams
from tinygen.options import literal

_QAT_CLASSES = ("QATModel", "QuantizedLayer", "QuantizeInput", "QuantizeOutput", "QuantizedDeconv",
                "QuantizedAttention", "QuantizedRecurrent")


def is_qat_model(model) -> bool:
    """True for a tinygen.qat model object or a .keras file saved from one (reads only its config)."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if path.suffix.lower() != ".keras" or not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as z:
            if "config.json" not in z.namelist():
                return False
            return '"tinygen>QATModel"' in z.read("config.json").decode("utf-8", "replace")
    return any(type(o).__name__ in _QAT_CLASSES and type(o).__module__.startswith("tinygen.")
               for o in [model] + list(getattr(model, "layers", [])))


def load(path):
    """Load a saved QAT model (registers the tinygen layer classes first)."""
    import keras

    from tinygen.quant.qat import layers as qat_layers  # noqa: F401 - registers the classes with Keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # keras raises many types for a bad file
        raise ModelFormatError(f"{path}: cannot load QAT model: {e}") from e


def to_graph(qat_model) -> ir.Graph:
    """The quantized IR graph of a trained QAT model (object or saved .keras path)."""
    from tinygen.console import progress

    source = ""
    if isinstance(qat_model, (str, os.PathLike)):
        source = str(qat_model)
        progress("QAT export: loading the model")
        qat_model = load(qat_model)
    progress("QAT export: reading the layers")
    builder = _qat_builder(qat_model, source)
    fgraph = builder.build()
    _spread_ranges(fgraph, builder.ranged)
    graph = passes.optimize(fgraph)
    _sunk_ranges(graph, builder.ranged)
    q = graph.copy()
    progress("QAT export: activation ranges and weights")
    report = quantize_activations(q, builder)
    from tinygen.quant import ptq
    ptq.quantize_constants(q)  # every constant to int8 first, then the QAT weights replace them
    from tinygen.quant.qat import export_blocks
    report.update(_set_weights(q, builder.weighted))
    report.update(export_blocks.set_weights(q, builder.blocks))
    ir.verify(q, "qat export")
    q.warnings, q.quant_report = [], report
    return q


def _qat_builder(model, source):
    """The Keras frontend's builder, taught the QAT layers (which wrap ordinary float layers)."""
    from tinygen.frontend import keras as fk
    from tinygen.quant.qat import export_blocks

    class Builder(fk._Builder):
        def __init__(self, model, source):
            super().__init__(model, source)
            self.ranged = {}  # IR tensor name -> QAT layer holding its range
            self.weighted = {}  # IR op name -> QuantizedLayer
            self.blocks = {}  # IR op name -> (QAT block, role): transposed convs, attention, recurrent

        def _layer(self, layer, ins, out_shapes):
            from tinygen.quant.qat import layers as ql

            if isinstance(layer, ql.QuantizeInput):
                self.ranged[ins[0]] = layer
                return ins
            if isinstance(layer, ql.QuantizedLayer):
                start = len(self.g.ops)
                y = super()._layer(layer.layer, ins, out_shapes)[0]
                self.weighted.update({op.name: layer for op in self.g.ops[start:] if op.kind in _AXIS})
                if layer.batchnorm is not None:
                    y = fk._batchnorm(self, layer.batchnorm, layer.batchnorm.get_config(), [y], out_shapes[0])
                y = self._relu(layer, y)
                self.ranged[y] = layer
                return [y]
            outs = export_blocks.build(self, layer, ins, out_shapes)
            if outs is not None:
                return outs
            if isinstance(layer, ql.QuantizeOutput):
                y = self._relu(layer, super()._layer(layer.layer, ins, out_shapes)[0])
                self.ranged[y] = layer
                return [y]
            return super()._layer(layer, ins, out_shapes)

        def _relu(self, layer, y):
            if layer.activation is None:
                return y
            kind = {"relu": OpKind.RELU, "relu6": OpKind.RELU6}[layer.activation]
            return self.op(kind, f"{layer.name}/{layer.activation}", [y], self.shape(y))

    return Builder(model, source)


def _spread_ranges(graph: ir.Graph, ranged: dict) -> None:
    """Give each tensor that shares int8 parameters with a ranged one (through RESHAPE, pooling, ...) that
    range before the passes run: a pass may remove the ranged tensor itself (a 1-D layer's squeeze RESHAPE
    folded into the next reshape) while one that shares its parameters survives."""
    from tinygen.quant import ptq

    groups = ptq.ShareGroups()
    for op in graph.ops:
        if op.kind in ptq.SHARES_INPUT_PARAMS:
            for t in op.inputs:
                if t is not None and not graph.tensors[t].is_const:
                    groups.union(t, op.outputs[0])
    layer_of = {groups.find(name): layer for name, layer in ranged.items()}
    for name, t in graph.tensors.items():
        if not t.is_const and name not in ranged and groups.find(name) in layer_of:
            ranged[name] = layer_of[groups.find(name)]


def _sunk_ranges(graph: ir.Graph, ranged: dict) -> None:
    """A per-channel op that passes/sink.py moved above a squeeze RESHAPE writes a new `<op>/unsqueezed`
    tensor (and the old output may go with the squeeze): it has the range of the op's old output."""
    for name in graph.tensors:
        base = re.sub(r"/unsqueezed(_\d+)?$", "", name)
        if name not in ranged and base != name and base in ranged:
            ranged[name] = ranged[base]


def quantize_activations(q: ir.Graph, builder) -> dict:
    """Every activation tensor's int8 parameters from the QAT ranges via tinygen's PTQ grouping."""
    from tinygen.quant import ptq

    fixed = {op.outputs[0] for op in q.ops if op.kind in ptq.FIXED_RANGES}
    groups = ptq.ShareGroups()
    for op in q.ops:
        if op.kind in ptq.SHARES_INPUT_PARAMS:
            for t in op.inputs:
                if t is not None and not q.tensors[t].is_const:
                    groups.union(t, op.outputs[0])
    ranges, members = {}, {}
    for name, t in q.tensors.items():
        if t.is_const or t.variable:  # recurrent states: set with their op (export_blocks.py)
            continue
        members.setdefault(groups.find(name), []).append(name)
        layer = builder.ranged.get(name)
        if layer is not None:
            r = layer.output_range()
            if r is None:
                raise TinygenError(f"layer '{layer.name}' has no activation range yet: train the QAT model "
                                   "(fit) or call tinygen.qat.calibrate before exporting")
            ranges[name] = r
    for names in members.values():
        known = {ranges[n] for n in names if n in ranges}
        if not known and not any(n in fixed for n in names):
            raise UnsupportedError(f"tensor '{names[0]}' has no QAT range (an op the QAT rewrite does not "
                                   "quantize)")
        if len(known) > 1:
            raise UnsupportedError(f"tensors {', '.join(sorted(names))} must share int8 parameters but have "
                                   "different QAT ranges (e.g. Concatenate): not supported")
    # ptq's grouping takes the union of member ranges: unranged members add only 0, which the rule keeps
    stats = {}
    for names in members.values():
        for n in names:
            lo, hi = ranges.get(n, (0.0, 0.0))
            vals = np.array([lo, hi], dtype=np.float64)
            stats[n] = {"lo": lo, "hi": hi, "halves": ([vals], [vals])}
    report = ptq.quantize_activations(q, stats, "minmax")
    return {n: ("qat" if n in ranges else how) for n, how in report.items()}


_AXIS = {OpKind.CONV_2D: 0, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 0}


def _ir_layout(kind: str, k: np.ndarray) -> np.ndarray:
    """Keras kernel layout -> the IR's (OHWI conv, 1HW(C*M) depthwise, (out, in) dense)."""
    if kind == "Dense":
        return k.T
    if kind == "DepthwiseConv1D":
        k = k[None]
    if kind in ("DepthwiseConv1D", "DepthwiseConv2D"):
        kh, kw, c, m = k.shape
        return k.reshape(1, kh, kw, c * m)
    if kind == "Conv1D":
        k = k[None]
    return np.transpose(k, (3, 0, 1, 2))


def _set_weights(q: ir.Graph, weighted: dict) -> dict:
    """Replace each weighted op's int8 weights and int32 bias with the QAT fake quantizer's values."""
    report = {}
    for op in q.ops:
        layer = weighted.get(op.name)
        if layer is None or op.kind not in _AXIS:
            continue
        codes, scale, bias = layer.quantized_weights()
        w = q.tensors[op.inputs[1]]
        data = _ir_layout(type(layer.layer).__name__, codes)
        if data.shape != w.shape:
            raise TinygenError(f"layer '{op.name}': QAT kernel {data.shape} does not match the graph's {w.shape}")
        if np.any(np.abs(data) > 127):
            raise TinygenError(f"layer '{op.name}': QAT weight codes exceed int8")
        values = np.rint(data).astype(np.int8)
        encoding = _encoding(op, values, layer.weight_quantizer)
        # scales: one per output channel, on axis 0 (OHWI conv, (out, in) dense) or 3 (1HW(C*M) depthwise),
        # the channel order of both the int8 kernels and the packed low-bit rows (kernels/lowbit.py)
        if encoding not in (None, "int8c"):  # low-bit kernels: TFLM's multipliers exact in their 19 bits
            from tinygen.quant import snap

            scale = snap.layer_scales(q, op, scale)
        q.tensors[w.name] = dataclasses.replace(w, dtype="int8", data=values, encoding=encoding,
                                                quant=QuantParams.make(scale, 0, _AXIS[op.kind]))
        report[w.name] = f"qat {_scheme(layer.weight_quantizer)}"
        w_scale = np.asarray(q.tensors[w.name].quant.scale, dtype=np.float64)
        b_scale = np.float64(q.tensors[op.inputs[0]].scale) * w_scale
        qb = np.clip(_round(bias.astype(np.float64) / b_scale), np.iinfo(np.int32).min, np.iinfo(np.int32).max)
        bias_name = op.inputs[2] if len(op.inputs) > 2 else None
        if bias_name is None:
            if np.any(qb != 0):
                raise TinygenError(f"layer '{op.name}': QAT bias is non-zero but the graph has no bias")
            continue
        b = q.tensors[bias_name]
        q.tensors[bias_name] = dataclasses.replace(b, dtype="int32", data=qb.astype(np.int32),
                                                   quant=QuantParams.make(b_scale, 0, 0))
    return report


def _round(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _scheme(quantizer) -> str:
    name = getattr(quantizer, "name", None)
    if isinstance(name, str):
        return name
    bits = getattr(quantizer, "bits", None)  # a WeightQuantizer-like object without `name`
    return f"int{bits}" if bits else quantizer.scheme


def _encoding(op, values: np.ndarray, quantizer):
    """The low-bit storage the quantizer's codes are declared to fit (None: plain int8), checked."""
    from tinygen.quant import weights as wq

    encoding = getattr(quantizer, "encoding", None)
    if encoding is None:
        return None
    wq.check_scheme(encoding, f"layer '{literal(op.name)}'")
    if not wq.allowed(values, encoding):
        raise TinygenError(f"layer '{op.name}': QAT weight codes of {_scheme(quantizer)} do not fit {encoding} "
                           f"storage (values {np.unique(values)[:20].tolist()})")
    return encoding

