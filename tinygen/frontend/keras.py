"""Keras frontend: a keras.Model, `.keras` or `.h5` file -> float32 tinygen IR (TFLite layouts, batch 1).

Layers are visited in topological order; each maps to one or a few IR ops named after the layer, by the
converter its op spec declares (tinygen/ops: `OpSpec.keras`, `OpSpec.keras_activations`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.frontend import keras_act, keras_ops
from tinygen.ir import Graph, Op, Tensor
from tinygen.ops.common import keras_fail as _fail
from tinygen.ops.spec import keras_layers

# Layers that compute the identity at inference time.
NOOP_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
          "AlphaDropout", "ActivityRegularization", "Identity"}



def _load(path: Path):
    import keras

    class _DepthwiseConv2D(keras.layers.DepthwiseConv2D):
        """Keras-2-era files store `groups=1` for depthwise layers; Keras 3 rejects the argument."""

        def __init__(self, *args, groups=1, **kwargs):
            if groups != 1:
                raise UnsupportedError(f"layer '{kwargs.get('name')}' (DepthwiseConv2D): groups={groups}")
            super().__init__(*args, **kwargs)

    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")
    try:
        return keras.models.load_model(path, compile=False,
                                       custom_objects={"DepthwiseConv2D": _DepthwiseConv2D})
    except UnsupportedError:
        raise
    except Exception as e:  # keras raises many types for a bad file
        raise ModelFormatError(f"{path}: cannot load Keras model: {e}") from e


def load_keras(model_or_path) -> Graph:
    """Convert a Keras model (object or .keras/.h5 path) to a float32 IR graph."""
    source = ""
    model = model_or_path
    if isinstance(model_or_path, (str, Path)):
        source = str(model_or_path)
        model = _load(Path(model_or_path))
    graph = _Builder(model, source).build()
    ir.verify(graph, "frontend")
    return graph


def _shape(layer, kt) -> tuple:
    shape = tuple(kt.shape)
    if any(d is None for d in shape[1:]):
        raise _fail(layer, f"dynamic shape {shape} is not supported; give every non-batch dimension a size")
    return (1,) + tuple(int(d) for d in shape[1:])


class _Builder:
    def __init__(self, model, source: str):
        self.model = model
        self.g = Graph({}, [], [], [], name=getattr(model, "name", "model") or "model", source=source)
        self.names: dict = {}  # id(KerasTensor) -> IR tensor name
        self.refused: list = []  # one-line errors of the layers that could not be converted

    # ---- graph helpers ---------------------------------------------------------------------
    def tensor(self, base: str, shape, dtype="float32", data=None) -> str:
        name = self.g.unique_name(base)
        self.g.tensors[name] = Tensor(name, tuple(int(d) for d in shape), dtype, data=data)
        return name

    def const(self, base: str, value) -> str:
        value = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        return self.tensor(base, value.shape, data=value)

    def op(self, kind, name, inputs, out_shape, attrs=None, out_name=None) -> str:
        out = self.tensor(out_name or name, out_shape)
        self.g.ops.append(Op(kind, name, list(inputs), [out], attrs if attrs is not None else ir.NoAttrs()))
        return out

    def shape(self, tname: str) -> tuple:
        return self.g.tensors[tname].shape

    # ---- walking -------------------------------------------------------------------------------
    def build(self) -> Graph:
        m = self.model
        cls = type(m).__name__
        if cls == "Sequential":
            self._sequential(m)
        elif hasattr(m, "_nodes_by_depth"):
            self._functional(m)
        else:
            raise UnsupportedError(f"model '{m.name}' ({cls}): subclassed models are not supported; "
                                   "use a Sequential or functional model")
        self._raise_refused()
        return self.g

    def _raise_refused(self) -> None:
        if len(self.refused) == 1:
            raise UnsupportedError(self.refused[0])
        if self.refused:
            raise UnsupportedError(f"{len(self.refused)} layers are not supported: " + "; ".join(self.refused))

    def _convert(self, layer, ins: list, kts: list) -> list:
        """The layer's IR outputs; a refused layer is recorded and stands in as placeholders of its output
        shapes, so the walk goes on and one error names every refused layer."""
        try:
            shapes = [_shape(layer, t) for t in kts]
        except UnsupportedError as e:
            self.refused.append(str(e))
            self._raise_refused()
        try:
            return self._layer(layer, ins, shapes)
        except UnsupportedError as e:
            self.refused.append(str(e))
            return [self.tensor(f"{layer.name}/refused", s) for s in shapes]

    def _add_input(self, kt, layer) -> str:
        name = self.tensor(getattr(layer, "name", None) or "input", _shape(layer, kt))
        self.g.inputs.append(name)
        return name

    def _sequential(self, m) -> None:
        if not m.inputs:
            raise UnsupportedError(f"model '{m.name}' (Sequential): not built; call it on an input first")
        x = self._add_input(m.inputs[0], m.inputs[0])
        for layer in m.layers:
            x = self._convert(layer, [x], [layer.output])[0]
        self.g.outputs.append(x)

    def _functional(self, m) -> None:
        for kt in m.inputs:
            layer = kt._keras_history[0]
            self.names[id(kt)] = self._add_input(kt, layer)
        for depth in sorted(m._nodes_by_depth, reverse=True):
            for node in m._nodes_by_depth[depth]:
                layer = node.operation
                if layer is None or node.is_input or type(layer).__name__ == "InputLayer":
                    continue
                ins = [self.names[id(t)] for t in node.arguments.keras_tensors]
                outs = node.outputs
                self.node = node  # operation layers (keras.ops on a KerasTensor) read their constant operands
                got = self._convert(layer, ins, outs)
                for t, name in zip(outs, got):
                    self.names[id(t)] = name
        self.g.outputs.extend(self.names[id(t)] for t in m.outputs)

    # ---- layers --------------------------------------------------------------------------------
    def _layer(self, layer, ins: list, out_shapes: list) -> list:
        cls = type(layer).__name__
        if cls in NOOP_LAYERS or cls == "InputLayer":
            return ins
        if keras_ops.is_operation(layer) and (cls in keras_ops.OPS or cls not in _handlers()):
            if len(out_shapes) != 1:
                raise UnsupportedError(f"layer '{layer.name}' (keras.ops {cls}): {len(out_shapes)} outputs "
                                       "are not supported")
            return [keras_ops.convert(self, layer, self.node, out_shapes[0])]
        handler = _handlers().get(cls)
        if handler is None:
            if hasattr(layer, "layers"):
                raise _fail(layer, "nested models are not supported; flatten the model first")
            raise UnsupportedError(f"layer '{layer.name}' ({cls}) is not supported")
        cfg = layer.get_config()
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise _fail(layer, f"data_format {cfg['data_format']} is not supported (use channels_last)")
        if len(out_shapes) != 1:
            raise _fail(layer, f"{len(out_shapes)} outputs are not supported")
        return [handler(self, layer, cfg, ins, out_shapes[0])]

    def activation(self, layer, act, x: str) -> str:
        """A layer's built-in activation as a separate op (the passes fuse it)."""
        name = act if isinstance(act, str) else getattr(act, "__name__", str(act))
        if name in ("linear", None):
            return x
        return self.activation_op(layer, name, x, f"{layer.name}/{name}")

    def activation_op(self, layer, name: str, x: str, op_name: str) -> str:
        """The op(s) of the Keras activation `name` on x (frontend/keras_act.py)."""
        return keras_act.activation_op(self, layer, name, x, op_name)


def _activation_layer(b: _Builder, layer, cfg, ins, out_shape) -> str:
    """The Activation layer: the op of the spec that declares its activation name."""
    act = cfg["activation"]
    name = act if isinstance(act, str) else act.get("config", {}).get("name", str(act))
    if name == "linear":
        return ins[0]
    return b.activation_op(layer, name, ins[0], layer.name)


def _handlers() -> dict:
    """Keras layer class name -> converter: the specs' entries, the Activation layer, and aliases."""
    table = dict(keras_layers())
    table["Activation"] = _activation_layer
    from tinygen.frontend import keras_composite
    table.update(keras_composite.HANDLERS)  # layers written as several ops (LayerNormalization, ...)
    from tinygen.frontend import keras_recurrent
    table.update(keras_recurrent.HANDLERS)  # Bidirectional (over any registered recurrent layer)
    from tinygen.frontend import keras_gru
    keras_gru.register()  # GRU and SimpleRNN inside Bidirectional
    table["_DepthwiseConv2D"] = table["DepthwiseConv2D"]  # the class _load substitutes for old files
    return table


def _batchnorm(b: _Builder, layer, cfg, ins, out_shape) -> str:
    """BatchNormalization's converter (its spec's, tinygen/ops/norm.py); qat_export folds QAT batch norms with it."""
    return keras_layers()["BatchNormalization"](b, layer, cfg, ins, out_shape)
