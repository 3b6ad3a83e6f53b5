"""Quantization-aware training for Keras 3 models, exported bit-exactly by tinygen.

    qat_model = tinygen.qat.quantize_model(float_model, weights="int4", gradient_bits=8)
    qat_model.compile(...); qat_model.fit(...)          # the user's own training loop
    tinygen.compile(qat_model, "out/model")             # trained ranges and weights, as they are

The rewrite fuses Conv/Depthwise/Dense + BatchNormalization + ReLU/ReLU6 into one `QuantizedLayer`
exactly as tinygen.passes fuses them; Conv1D/2DTranspose, MultiHeadAttention, LSTM, GRU and SimpleRNN
become the int8-weight blocks of blocks.py and recurrent.py; see docs/quantization.md.
"""
from __future__ import annotations

import keras
import numpy as np

from tinygen.quant.qat import blocks as qb
from tinygen.quant.qat import layers as ql
from tinygen.quant.qat import recurrent as qr
from tinygen.quant.qat import quantizers as qq
from tinygen.errors import UnsupportedError
from tinygen.ops.spec import QAT_RANGED, QAT_RANGED_RELU, QAT_SHARED, keras_qat_roles
from tinygen.quant.qat.export import is_qat_model, to_graph
from tinygen.quant.qat.layers import QATModel, QuantizedLayer, QuantizeInput, QuantizeOutput
from tinygen.quant.qat.quantizers import (WEIGHT_QUANTIZERS, BinaryQuantizer, IntQuantizer, KMeansQuantizer, TernaryQuantizer,
                             WeightQuantizer)

__all__ = ["quantize_model", "calibrate", "gradient_memory", "to_graph", "is_qat_model", "QATModel",
           "QuantizedLayer", "QuantizeInput", "QuantizeOutput", "WeightQuantizer", "WEIGHT_QUANTIZERS",
           "IntQuantizer", "TernaryQuantizer", "BinaryQuantizer", "KMeansQuantizer"]

# Each op spec's Keras layers declare their QAT role (tinygen/ops: KerasLayer.qat); here are the layers
# that are the identity at inference, and the Activation layer (its op depends on its argument).
_IDENTITY = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
             "Identity", "ActivityRegularization"}
_ROLES = keras_qat_roles()
# layers that keep their input's int8 parameters (max, reshape, pad, average pool) or are the identity
_PASS_THROUGH = {name for name, role in _ROLES.items() if role == QAT_SHARED} | _IDENTITY
# layers with their own output range (elementwise ones can take a fused ReLU)
_FUSES_RELU = {name for name, role in _ROLES.items() if role == QAT_RANGED_RELU}
_RANGED = {name for name, role in _ROLES.items() if role == QAT_RANGED} | _FUSES_RELU | {"Activation"}


def quantize_model(model, weights="int8", activations="int8", gradient_bits=None, ema_decay: float = 0.99,
                   gradient_seed: int = 0, name: str = None) -> QATModel:
    """A trainable fake-quantized copy of the float Keras `model` (the original is not modified).

    weights: "int8" (+-127 per channel), "int4" (+-7), "ternary", "binary", "kmeans4" / "kmeans3" /
      "kmeans2" or a WeightQuantizer, for every Conv/Depthwise/Dense layer; or a {layer name: scheme}
      table (layers it does not name get the "*" entry, default "int8"). Low-bit schemes export with
      their storage encoding, so the compiled model uses the packed low-bit kernels. Transposed convs,
      attention and recurrent layers always get int8 weights.
    activations: "int8" (per-tensor asymmetric, moving-average ranges; the only scheme).
    gradient_bits: None (float32 gradients) or 8 / 4: per-tensor scale, stochastic rounding.
    Ranges start empty: fit() or `calibrate` fills them; before that the layers pass values through.
    """
    if activations != "int8":
        raise UnsupportedError(f"activations={activations!r}: only int8 activations are supported")
    nodes, inputs, outputs = _nodes(model)
    scheme_of = _scheme_table(weights, [layer.name for layer, _, _ in nodes if type(layer).__name__ in ql._WEIGHTED])
    consumers: dict = {}
    for i, (_, ins, _) in enumerate(nodes):
        for k in ins:
            consumers.setdefault(k, []).append(i)

    def sole_next(key):
        """(node, index) of the node that alone consumes `key` (not a model output), else (None, None)."""
        use = consumers.get(key, [])
        if len(use) != 1 or key in outputs:
            return None, None
        return nodes[use[0]], use[0]

    new: dict = {}
    new_inputs = []
    for key, kt in inputs:
        inp = keras.Input(shape=tuple(kt.shape[1:]), dtype=kt.dtype, name=_input_name(kt))
        new_inputs.append(inp)
        new[key] = QuantizeInput(ema_decay=ema_decay, name=f"{inp.name}_quant")(inp)
    absorbed = set()
    for i, (layer, ins, outs) in enumerate(nodes):
        if i in absorbed:
            continue
        cls = type(layer).__name__
        xs = [new[k] for k in ins]
        x = xs[0] if len(xs) == 1 else xs
        if cls in ql._WEIGHTED or cls in qb.DECONV or cls in qb.SEPARABLE:
            new.update(_weighted(layer, outs, x, sole_next, absorbed, scheme_of, ema_decay))
        elif cls in qb.ATTENTION:
            qvk = _attention_inputs(layer, new)
            inner = type(layer).from_config(layer.get_config())
            inner.build(*(tuple(t.shape) for t in qvk))
            inner.set_weights(layer.get_weights())
            new[outs[0]] = qb.QuantizedAttention(inner, ema_decay=ema_decay, name=layer.name)(qvk)
        elif cls in qr.RECURRENT:
            new[outs[0]] = qr.QuantizedRecurrent(_clone(layer), ema_decay=ema_decay, name=layer.name)(x)
        elif cls == "Bidirectional" and type(layer.forward_layer).__name__ in qr.RECURRENT:
            new[outs[0]] = qr.QuantizedBidirectional(_clone(layer), ema_decay=ema_decay, name=layer.name)(x)
        elif cls in _PASS_THROUGH:
            new[outs[0]] = _clone(layer)(x)
        elif cls in _RANGED:
            act, tail = None, outs[0]
            nxt, j = sole_next(tail)
            if cls in _FUSES_RELU and nxt is not None and _relu_kind(nxt[0]):
                act, tail = _relu_kind(nxt[0]), nxt[2][0]
                absorbed.add(j)
            new[tail] = _ranged(_clone(layer), _act_name(layer), act, ema_decay)(x)
        elif cls == "BatchNormalization":
            raise UnsupportedError(f"layer '{layer.name}' (BatchNormalization): QAT folds batch norm only "
                                   "when it directly follows a Conv/DepthwiseConv2D/Dense with no activation")
        else:
            raise UnsupportedError(f"layer '{layer.name}' ({cls}) is not supported by quantization-aware "
                                   "training")
    outs = [new[k] for k in outputs]
    ins = new_inputs if len(new_inputs) > 1 else new_inputs[0]
    return QATModel(ins, outs if len(outs) > 1 else outs[0], name=name or f"{model.name}_qat",
                    gradient_bits=gradient_bits, gradient_seed=gradient_seed)


def _weighted(layer, outs, x, sole_next, absorbed: set, scheme_of, ema_decay: float) -> dict:
    """{output key: tensor} of a Conv/Depthwise/Dense (+ BatchNormalization), a transposed or separable conv, with a
    following ReLU / ReLU6 fused and any other activation as its own ranged layer."""
    inner, act = _clone(layer, activation="linear"), _act_name(layer)
    block = {**dict.fromkeys(qb.DECONV, qb.QuantizedDeconv), **dict.fromkeys(qb.SEPARABLE, qb.QuantizedSeparable)}
    block = block.get(type(layer).__name__)
    bn, tail = None, outs[0]
    nxt, j = sole_next(tail)
    if block is None and act == "linear" and nxt is not None and type(nxt[0]).__name__ == "BatchNormalization":
        bn, tail = _clone(nxt[0]), nxt[2][0]
        absorbed.add(j)
        nxt, j = sole_next(tail)
    if act == "linear" and nxt is not None and _relu_kind(nxt[0]):
        act, tail = _relu_kind(nxt[0]), nxt[2][0]
        absorbed.add(j)
    fused = act if act in ql.ACTIVATIONS else None
    if block is not None:
        y = block(inner, fused, ema_decay=ema_decay, name=layer.name)(x)
    else:
        y = QuantizedLayer(inner, bn, fused, scheme_of(layer.name), ema_decay=ema_decay, name=layer.name)(x)
    if act not in ql.ACTIVATIONS + ("linear",):
        y = _ranged(keras.layers.Activation(act, name=f"{layer.name}_{act}"), act, None, ema_decay)(y)
    return {tail: y}


def _attention_inputs(layer, new: dict) -> list:
    """The rewritten [query, value, key] of a MultiHeadAttention call (key = value when not given)."""
    node = layer._inbound_nodes[0]
    args, kwargs = list(node.arguments.args), dict(node.arguments.kwargs)
    for k, a in zip(("query", "value", "key"), args[:3]):
        kwargs.setdefault(k, a)
    for opt in ("attention_mask", "query_mask", "value_mask", "key_mask", "use_causal_mask",
                "return_attention_scores"):
        if kwargs.get(opt) is not None and kwargs.get(opt) is not False:
            raise UnsupportedError(f"layer '{layer.name}' (MultiHeadAttention): {opt} is not supported by "
                                   "quantization-aware training")
    value = new[id(kwargs["value"])]
    return [new[id(kwargs["query"])], value, new[id(kwargs["key"])] if kwargs.get("key") is not None else value]


def _scheme_table(weights, names: list):
    """layer name -> weight scheme spec, from one spec or a {layer: spec} table ('*' = default)."""
    if not isinstance(weights, dict):
        qq.weight_quantizer(weights)  # fail early on an unknown scheme
        return lambda name: weights
    unknown = sorted(set(weights) - set(names) - {"*"})
    if unknown:
        raise UnsupportedError(f"weights: no Conv/DepthwiseConv2D/Dense layer is named {', '.join(map(repr, unknown))} "
                               f"(layers: {', '.join(names)})")
    default = weights.get("*", "int8")
    for spec in list(weights.values()) + [default]:
        qq.weight_quantizer(spec)
    return lambda name: weights.get(name, default)


def _nodes(model):
    """[(layer, input keys, output keys)] in execution order, [(key, input KerasTensor)], output keys."""
    if type(model).__name__ == "Sequential":
        if not model.inputs:
            raise UnsupportedError(f"model '{model.name}' (Sequential): not built; call it on an input first")
        nodes = [(layer, [i], [i + 1]) for i, layer in enumerate(model.layers)]
        return nodes, [(0, model.inputs[0])], [len(model.layers)]
    if not hasattr(model, "_nodes_by_depth"):
        raise UnsupportedError(f"model '{model.name}': subclassed models are not supported; use a Sequential "
                               "or functional model")
    nodes, seen = [], set()
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.operation
            if layer is None or node.is_input or type(layer).__name__ == "InputLayer":
                continue
            if id(layer) in seen:
                raise UnsupportedError(f"layer '{layer.name}' is called more than once: shared layers are "
                                       "not supported by quantization-aware training")
            seen.add(id(layer))
            nodes.append((layer, [id(t) for t in node.arguments.keras_tensors], [id(t) for t in node.outputs]))
    return nodes, [(id(t), t) for t in model.inputs], [id(t) for t in model.outputs]


def _input_name(kt) -> str:
    history = getattr(kt, "_keras_history", None)
    return history[0].name if history else "input"


def _act_name(layer) -> str:
    act = layer.get_config().get("activation", "linear")
    if isinstance(act, dict):
        act = act.get("config", {}).get("name", str(act))
    return act if isinstance(act, str) else getattr(act, "__name__", str(act))


def _relu_kind(layer):
    """"relu" / "relu6" when `layer` is a plain ReLU or ReLU6 tinygen fuses, else None."""
    cls = type(layer).__name__
    if cls == "Activation":
        name = _act_name(layer)
        return name if name in ql.ACTIVATIONS else None
    if cls == "ReLU":
        cfg = layer.get_config()
        if float(cfg.get("negative_slope") or 0) == 0 and float(cfg.get("threshold") or 0) == 0:
            mx = cfg.get("max_value")
            return "relu" if mx is None else ("relu6" if float(mx) == 6.0 else None)
    return None


def _ranged(layer, act_name: str, fused, ema_decay: float) -> QuantizeOutput:
    cls = type(layer).__name__
    fixed = ql.FIXED_RANGES.get("softmax" if cls == "Softmax" else act_name if cls == "Activation" else "")
    return QuantizeOutput(layer, activation=fused, fixed_range=fixed, ema_decay=ema_decay,
                          name=f"{layer.name}_q")


def _clone(layer, **overrides):
    """A fresh copy of `layer` (config + weights), optionally with config overrides."""
    cfg = layer.get_config()
    cfg.update(overrides)
    copy = type(layer).from_config(cfg)
    if layer.weights:
        copy.build(layer.input.shape if hasattr(layer, "input") else None)
        copy.set_weights(layer.get_weights())
    return copy


def calibrate(qat_model, x, batch_size: int = 64) -> None:
    """Set every activation range to the running min/max over `x` (no weight changes): a PTQ start."""
    ranged = [layer for layer in qat_model._flatten_layers(include_self=False) if isinstance(layer, ql._Ranged)]
    for layer in ranged:
        layer.range_ready.assign(0.0)
        layer.calibrating = True
    try:
        xs = x if isinstance(x, (list, tuple)) else [x]
        for start in range(0, len(xs[0]), batch_size):
            batch = [np.asarray(a[start:start + batch_size], dtype=np.float32) for a in xs]
            qat_model(batch if len(batch) > 1 else batch[0], training=False)
    finally:
        for layer in ranged:
            layer.calibrating = False


def gradient_memory(qat_model) -> dict:
    """Bytes of one set of gradients: float32 vs the model's `gradient_bits` (+ one scale per tensor)."""
    fp32, quant = qq.gradient_bytes(qat_model, qat_model.gradient_bits)
    return {"float32_bytes": fp32, "quantized_bytes": quant, "bits": qat_model.gradient_bits,
            "saving": 1.0 - quant / fp32 if fp32 else 0.0}
