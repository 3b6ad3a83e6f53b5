"""Keras frontend: a keras.Model, `.keras` or `.h5` file -> float32 tinygen IR (TFLite layouts, batch 1).

Layers are visited in topological order; each maps to one or a few IR ops named after the layer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .. import ir
from ..errors import ModelFormatError, UnsupportedError
from ..ir import Graph, Op, OpKind, Tensor

# Layers that compute the identity at inference time.
_NOOPS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
          "AlphaDropout", "ActivityRegularization", "Identity"}

# Keras activation name -> (op kind, attrs); "linear" is no op at all.
_ACTIVATIONS = {
    "relu": (OpKind.RELU, ir.NoAttrs()),
    "relu6": (OpKind.RELU6, ir.NoAttrs()),
    "sigmoid": (OpKind.LOGISTIC, ir.NoAttrs()),
    "tanh": (OpKind.TANH, ir.NoAttrs()),
    "softmax": (OpKind.SOFTMAX, ir.SoftmaxAttrs(1.0)),
    "hard_swish": (OpKind.HARD_SWISH, ir.NoAttrs()),
    "hard_silu": (OpKind.HARD_SWISH, ir.NoAttrs()),
    "leaky_relu": (OpKind.LEAKY_RELU, ir.LeakyReluAttrs(0.2)),
}


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


def _fail(layer, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{layer.name}' ({type(layer).__name__}): {why}")


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
        return self.g

    def _add_input(self, kt, layer) -> str:
        name = self.tensor(getattr(layer, "name", None) or "input", _shape(layer, kt))
        self.g.inputs.append(name)
        return name

    def _sequential(self, m) -> None:
        if not m.inputs:
            raise UnsupportedError(f"model '{m.name}' (Sequential): not built; call it on an input first")
        x = self._add_input(m.inputs[0], m.inputs[0])
        for layer in m.layers:
            x = self._layer(layer, [x], [_shape(layer, layer.output)])[0]
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
                shapes = [_shape(layer, t) for t in outs]
                got = self._layer(layer, ins, shapes)
                for t, name in zip(outs, got):
                    self.names[id(t)] = name
        self.g.outputs.extend(self.names[id(t)] for t in m.outputs)

    # ---- layers --------------------------------------------------------------------------------
    def _layer(self, layer, ins: list, out_shapes: list) -> list:
        cls = type(layer).__name__
        if cls in _NOOPS or cls == "InputLayer":
            return ins
        handler = _HANDLERS.get(cls)
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
        if name not in _ACTIVATIONS:
            raise _fail(layer, f"activation '{name}' is not supported")
        kind, attrs = _ACTIVATIONS[name]
        return self.op(kind, f"{layer.name}/{name}", [x], self.shape(x), attrs)


# ---- per-layer converters: (builder, layer, config, input names, output shape) -> output name ----

def _pad_attr(layer, cfg, in_hw, k_hw, s_hw, d_hw) -> tuple:
    pad = cfg.get("padding", "valid")
    if pad == "valid":
        return ir.Padding()
    if pad == "same":
        (t, b, _), (l, r, _) = (ir.same_padding(i, k, s, d) for i, k, s, d in zip(in_hw, k_hw, s_hw, d_hw))
        return ir.Padding(t, b, l, r)
    raise _fail(layer, f"padding '{pad}' is not supported")


def _conv2d(b: _Builder, layer, cfg, ins, out_shape, rank1=False) -> str:
    if cfg.get("groups", 1) != 1:
        raise _fail(layer, f"groups={cfg['groups']} is not supported")
    w = np.asarray(layer.kernel.numpy() if hasattr(layer.kernel, "numpy") else layer.kernel)
    x = ins[0]
    if rank1:  # Conv1D the TFLite way: (1, W, C) -> (1, 1, W, C), conv with a 1xK filter, back
        _, wdt, c = b.shape(x)
        x = b.op(OpKind.RESHAPE, f"{layer.name}/expand", [x], (1, 1, wdt, c), ir.ReshapeAttrs())
        w = w[None]  # (1, K, I, O)
        strides, dil = (1, cfg["strides"][0]), (1, cfg["dilation_rate"][0])
    else:
        strides, dil = tuple(cfg["strides"]), tuple(cfg["dilation_rate"])
    _, h, wd, _ = b.shape(x)
    kh, kw, _, o = w.shape
    if rank1 and cfg.get("padding") == "causal":
        padding = ir.Padding(0, 0, (kw - 1) * dil[1], 0)
    else:
        padding = _pad_attr(layer, cfg, (h, wd), (kh, kw), strides, dil)
    wname = b.const(f"{layer.name}/kernel", np.transpose(w, (3, 0, 1, 2)))
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    attrs = ir.Conv2DAttrs(strides[0], strides[1], dil[0], dil[1], padding)
    oh = (h + padding.top + padding.bottom - ((kh - 1) * dil[0] + 1)) // strides[0] + 1
    ow = (wd + padding.left + padding.right - ((kw - 1) * dil[1] + 1)) // strides[1] + 1
    y = b.op(OpKind.CONV_2D, layer.name, [x, wname, bname], (1, oh, ow, o), attrs,
             out_name=f"{layer.name}/conv" if rank1 else None)
    if rank1:
        y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], (1, ow, o), ir.ReshapeAttrs())
    if tuple(b.shape(y)) != tuple(out_shape):
        raise _fail(layer, f"computed output shape {b.shape(y)} differs from Keras {out_shape}")
    return b.activation(layer, cfg.get("activation"), y)


def _depthwise(b: _Builder, layer, cfg, ins, out_shape, kernel=None, bias=None, act=True) -> str:
    x = ins[0]
    w = np.asarray(kernel if kernel is not None else layer.kernel.numpy())  # (kh, kw, C, M)
    kh, kw, c, m = w.shape
    strides, dil = tuple(cfg["strides"]), tuple(cfg["dilation_rate"])
    _, h, wd, _ = b.shape(x)
    padding = _pad_attr(layer, cfg, (h, wd), (kh, kw), strides, dil)
    wname = b.const(f"{layer.name}/depthwise_kernel", w.reshape(1, kh, kw, c * m))
    if kernel is None:
        bias = layer.bias.numpy() if cfg.get("use_bias", True) else None
    bname = b.const(f"{layer.name}/bias", bias) if bias is not None else None
    attrs = ir.DepthwiseConv2DAttrs(strides[0], strides[1], m, dil[0], dil[1], padding)
    oh = (h + padding.top + padding.bottom - ((kh - 1) * dil[0] + 1)) // strides[0] + 1
    ow = (wd + padding.left + padding.right - ((kw - 1) * dil[1] + 1)) // strides[1] + 1
    name = layer.name if act else f"{layer.name}/depthwise"
    y = b.op(OpKind.DEPTHWISE_CONV_2D, name, [x, wname, bname], (1, oh, ow, c * m), attrs)
    return b.activation(layer, cfg.get("activation"), y) if act else y


def _separable(b: _Builder, layer, cfg, ins, out_shape) -> str:
    y = _depthwise(b, layer, cfg, ins, None, kernel=layer.depthwise_kernel.numpy(), act=False)
    pw = layer.pointwise_kernel.numpy()  # (1, 1, C*M, O)
    wname = b.const(f"{layer.name}/pointwise_kernel", np.transpose(pw, (3, 0, 1, 2)))
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    y = b.op(OpKind.CONV_2D, layer.name, [y, wname, bname], tuple(out_shape), ir.Conv2DAttrs(1, 1))
    return b.activation(layer, cfg.get("activation"), y)


def _dense(b: _Builder, layer, cfg, ins, out_shape) -> str:
    x = ins[0]
    wname = b.const(f"{layer.name}/kernel", layer.kernel.numpy().T)
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    attrs = ir.FullyConnectedAttrs(keep_num_dims=len(b.shape(x)) > 2)
    y = b.op(OpKind.FULLY_CONNECTED, layer.name, [x, wname, bname], tuple(out_shape), attrs)
    return b.activation(layer, cfg.get("activation"), y)


def _batchnorm(b: _Builder, layer, cfg, ins, out_shape) -> str:
    x = ins[0]
    rank = len(b.shape(x))
    axes = cfg["axis"] if isinstance(cfg["axis"], (list, tuple)) else [cfg["axis"]]
    if len(axes) != 1 or axes[0] % rank != rank - 1:
        raise _fail(layer, f"normalization over axis {cfg['axis']} is not supported (only the last axis)")
    c = b.shape(x)[-1]
    gamma = layer.gamma.numpy() if cfg.get("scale", True) else np.ones(c, np.float32)
    beta = layer.beta.numpy() if cfg.get("center", True) else np.zeros(c, np.float32)
    consts = [b.const(f"{layer.name}/{n}", v) for n, v in
              (("gamma", gamma), ("beta", beta), ("moving_mean", layer.moving_mean.numpy()),
               ("moving_variance", layer.moving_variance.numpy()))]
    return b.op(OpKind.BATCH_NORM, layer.name, [x] + consts, out_shape, ir.BatchNormAttrs(float(cfg["epsilon"])))


def _activation_layer(b: _Builder, layer, cfg, ins, out_shape) -> str:
    act = cfg["activation"]
    name = act if isinstance(act, str) else act.get("config", {}).get("name", str(act))
    if name == "linear":
        return ins[0]
    if name not in _ACTIVATIONS:
        raise _fail(layer, f"activation '{name}' is not supported")
    kind, attrs = _ACTIVATIONS[name]
    return b.op(kind, layer.name, ins, out_shape, attrs)


def _relu(b: _Builder, layer, cfg, ins, out_shape) -> str:
    mx, slope, thr = cfg.get("max_value"), float(cfg.get("negative_slope") or 0.0), float(cfg.get("threshold") or 0.0)
    if thr != 0.0:
        raise _fail(layer, f"threshold={thr} is not supported")
    if slope == 0.0 and mx is None:
        return b.op(OpKind.RELU, layer.name, ins, out_shape)
    if slope == 0.0 and float(mx) == 6.0:
        return b.op(OpKind.RELU6, layer.name, ins, out_shape)
    if mx is None and 0.0 < slope < 1.0:
        return b.op(OpKind.LEAKY_RELU, layer.name, ins, out_shape, ir.LeakyReluAttrs(slope))
    raise _fail(layer, f"max_value={mx} with negative_slope={slope} is not supported")


def _leaky(b: _Builder, layer, cfg, ins, out_shape) -> str:
    alpha = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return b.op(OpKind.LEAKY_RELU, layer.name, ins, out_shape, ir.LeakyReluAttrs(float(alpha)))


def _softmax(b: _Builder, layer, cfg, ins, out_shape) -> str:
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if not isinstance(axis, int) or axis % len(out_shape) != len(out_shape) - 1:
        raise _fail(layer, f"softmax over axis {cfg.get('axis')} is not supported (only the last axis)")
    return b.op(OpKind.SOFTMAX, layer.name, ins, out_shape, ir.SoftmaxAttrs(1.0))


def _reshape(b: _Builder, layer, cfg, ins, out_shape) -> str:
    return b.op(OpKind.RESHAPE, layer.name, ins, out_shape, ir.ReshapeAttrs())


def _pool(kind: OpKind, rank1: bool) -> Callable:
    def convert(b: _Builder, layer, cfg, ins, out_shape) -> str:
        x = ins[0]
        pool, strides = list(cfg["pool_size"]), list(cfg["strides"] or cfg["pool_size"])
        if rank1:
            _, wd, c = b.shape(x)
            x = b.op(OpKind.RESHAPE, f"{layer.name}/expand", [x], (1, 1, wd, c), ir.ReshapeAttrs())
            pool, strides = [1] + pool, [1] + strides
        _, h, wd, c = b.shape(x)
        padding = _pad_attr(layer, cfg, (h, wd), pool, strides, (1, 1))
        oh = (h + padding.top + padding.bottom - pool[0]) // strides[0] + 1
        ow = (wd + padding.left + padding.right - pool[1]) // strides[1] + 1
        attrs = ir.Pool2DAttrs(pool[0], pool[1], strides[0], strides[1], padding)
        y = b.op(kind, layer.name, [x], (1, oh, ow, c), attrs, out_name=f"{layer.name}/pool" if rank1 else None)
        if rank1:
            y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], out_shape, ir.ReshapeAttrs())
        return y
    return convert


def _global_avg(b: _Builder, layer, cfg, ins, out_shape) -> str:
    # MEAN is what TF's converter emits for global average pooling, so graphs and numerics line up
    # with the converter's int8 models, and keep_dims needs no extra RESHAPE.
    rank = len(b.shape(ins[0]))
    axes = tuple(range(1, rank - 1))
    return b.op(OpKind.MEAN, layer.name, ins, out_shape, ir.MeanAttrs(axes, bool(cfg.get("keepdims", False))))


def _global_max(b: _Builder, layer, cfg, ins, out_shape) -> str:
    x = ins[0]
    if len(b.shape(x)) == 3:
        _, wd, c = b.shape(x)
        x = b.op(OpKind.RESHAPE, f"{layer.name}/expand", [x], (1, 1, wd, c), ir.ReshapeAttrs())
    _, h, wd, c = b.shape(x)
    y = b.op(OpKind.MAX_POOL_2D, layer.name, [x], (1, 1, 1, c), ir.Pool2DAttrs(h, wd, 1, 1),
             out_name=f"{layer.name}/pool")
    return b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], out_shape, ir.ReshapeAttrs())


def _elementwise(kind: OpKind) -> Callable:
    def convert(b: _Builder, layer, cfg, ins, out_shape) -> str:
        if len(ins) < 2 or (kind == OpKind.SUB and len(ins) != 2):
            raise _fail(layer, f"{len(ins)} inputs are not supported")
        y = ins[0]
        for i, x in enumerate(ins[1:]):
            last = i == len(ins) - 2
            y = b.op(kind, layer.name if last else f"{layer.name}/{i}", [y, x], out_shape, ir.ElementwiseAttrs())
        return y
    return convert


def _concat(b: _Builder, layer, cfg, ins, out_shape) -> str:
    axis = int(cfg.get("axis", -1)) % len(out_shape)
    if axis == 0:
        raise _fail(layer, "concatenation over the batch axis is not supported")
    return b.op(OpKind.CONCATENATION, layer.name, ins, out_shape, ir.ConcatAttrs(axis))


def _zeropad(b: _Builder, layer, cfg, ins, out_shape) -> str:
    pad = cfg["padding"]  # Keras normalizes it: (left, right) in 1D, ((top, bottom), (left, right)) in 2D
    pairs = [tuple(pad)] if len(b.shape(ins[0])) == 3 else [tuple(p) for p in pad]
    paddings = ((0, 0),) + tuple((int(a), int(c)) for a, c in pairs) + ((0, 0),)
    if len(paddings) != len(out_shape):
        raise _fail(layer, f"padding {pad} does not match input rank {len(b.shape(ins[0]))}")
    return b.op(OpKind.PAD, layer.name, ins, out_shape, ir.PadAttrs(paddings))


_HANDLERS = {
    "Conv2D": _conv2d,
    "Conv1D": lambda b, layer, cfg, ins, out: _conv2d(b, layer, cfg, ins, out, rank1=True),
    "DepthwiseConv2D": _depthwise,
    "_DepthwiseConv2D": _depthwise,
    "SeparableConv2D": _separable,
    "Dense": _dense,
    "BatchNormalization": _batchnorm,
    "Activation": _activation_layer,
    "ReLU": _relu,
    "LeakyReLU": _leaky,
    "Softmax": _softmax,
    "Flatten": _reshape,
    "Reshape": _reshape,
    "AveragePooling2D": _pool(OpKind.AVERAGE_POOL_2D, False),
    "AveragePooling1D": _pool(OpKind.AVERAGE_POOL_2D, True),
    "MaxPooling2D": _pool(OpKind.MAX_POOL_2D, False),
    "MaxPooling1D": _pool(OpKind.MAX_POOL_2D, True),
    "GlobalAveragePooling2D": _global_avg,
    "GlobalAveragePooling1D": _global_avg,
    "GlobalMaxPooling2D": _global_max,
    "GlobalMaxPooling1D": _global_max,
    "Add": _elementwise(OpKind.ADD),
    "Subtract": _elementwise(OpKind.SUB),
    "Multiply": _elementwise(OpKind.MUL),
    "Concatenate": _concat,
    "ZeroPadding2D": _zeropad,
    "ZeroPadding1D": _zeropad,
}
