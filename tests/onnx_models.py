"""Small float ONNX models written with onnx.helper in the form PyTorch's TorchScript exporter writes them
(Conv with bias initializers, BatchNormalization nodes in eval mode, Clip(0, 6) for ReLU6, Flatten + Gemm
with transB=1 for nn.Linear, MatMul + Add for a Linear on 3-D inputs, Shape -> Gather -> Unsqueeze ->
Concat -> Reshape for x.view(x.size(0), -1)). Random weights from a fixed seed; no torch needed."""
from __future__ import annotations

import numpy as np


class Net:
    def __init__(self, name: str, seed: int = 0):
        from onnx import helper

        self.h = helper
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.n = 0

    def _id(self, base: str) -> str:
        self.n += 1
        return f"/{base}_{self.n}"

    def init(self, name: str, value) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs, n_out: int = 1, **attrs):
        name = self._id(op)
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(self.h.make_node(op, list(inputs), outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def w(self, *shape, fan_in=None):
        fan_in = fan_in or int(np.prod(shape[1:]))
        return (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def conv(self, x, cin, cout, k, stride=1, pad=0, group=1, dil=1, nd=2, bias=True):
        kshape = (k,) * nd if isinstance(k, int) else tuple(k)
        w = self.init(self._id("weight")[1:], self.w(cout, cin // group, *kshape))
        ins = [x, w] + ([self.init(self._id("bias")[1:], self.rng.standard_normal(cout).astype(np.float32) * 0.1)]
                        if bias else [])
        return self.node("Conv", ins, dilations=[dil] * nd, group=group, kernel_shape=list(kshape),
                         pads=[pad] * (2 * nd), strides=[stride] * nd)

    def bn(self, x, c):
        r = self.rng
        p = [self.init(self._id(n)[1:], v.astype(np.float32)) for n, v in (
            ("gamma", 1 + 0.2 * r.standard_normal(c)), ("beta", 0.1 * r.standard_normal(c)),
            ("mean", 0.1 * r.standard_normal(c)), ("var", 0.5 + r.random(c)))]
        return self.node("BatchNormalization", [x] + p, epsilon=1e-5, momentum=0.9)

    def relu6(self, x):
        lo = self.node("Constant", [], value=self.h.make_tensor("v", 1, [], [0.0]))
        hi = self.node("Constant", [], value=self.h.make_tensor("v", 1, [], [6.0]))
        return self.node("Clip", [x, lo, hi])

    def linear(self, x, cin, cout):
        w = self.init(self._id("fc.weight")[1:], self.w(cout, cin))
        b = self.init(self._id("fc.bias")[1:], self.rng.standard_normal(cout).astype(np.float32) * 0.1)
        return self.node("Gemm", [x, w, b], alpha=1.0, beta=1.0, transB=1)

    def view_flat(self, x):
        """x.view(x.size(0), -1) as TorchScript exports it."""
        shape = self.node("Shape", [x])
        zero = self.node("Constant", [], value=self.h.make_tensor("v", 7, [], [0]))
        n = self.node("Gather", [shape, zero], axis=0)
        n1 = self.node("Unsqueeze", [n, self.init(self._id("axes")[1:], np.array([0], np.int64))])
        minus = self.init(self._id("minus1")[1:], np.array([-1], np.int64))
        target = self.node("Concat", [n1, minus], axis=0)
        return self.node("Reshape", [x, target])

    def model(self, x_shape, out, opset: int = 17, batch: str = "batch_size"):
        from onnx import TensorProto

        x = self.h.make_tensor_value_info("input", TensorProto.FLOAT, [batch] + list(x_shape[1:]))
        from onnx import shape_inference

        self.nodes.append(self.h.make_node("Identity", [out], ["output"], name="/output_identity"))
        probe = self.h.make_graph(self.nodes, self.name, [x], [], self.inits)
        probe = self.h.make_model(probe, opset_imports=[self.h.make_opsetid("", opset)])
        inferred = {v.name: v for v in shape_inference.infer_shapes(probe).graph.value_info}
        g = self.h.make_graph(self.nodes, self.name, [x], [inferred["output"]], self.inits)
        m = self.h.make_model(g, opset_imports=[self.h.make_opsetid("", opset)], producer_name="pytorch")
        m.ir_version = 8
        return m


def resnet8(seed=0):
    """ResNet-8 (MLPerf Tiny's shape, narrower): conv-BN-ReLU stem, 3 residual stages, avgpool, Linear."""
    n = Net("resnet8", seed)
    x = n.node("Relu", [n.bn(n.conv("input", 3, 8, 3, pad=1, bias=False), 8)])
    c = 8
    for cout, stride in ((8, 1), (16, 2), (24, 2)):
        y = n.node("Relu", [n.bn(n.conv(x, c, cout, 3, stride, 1, bias=False), cout)])
        y = n.bn(n.conv(y, cout, cout, 3, 1, 1, bias=False), cout)
        sc = x if (stride == 1 and c == cout) else n.conv(x, c, cout, 1, stride)
        x, c = n.node("Relu", [n.node("Add", [y, sc])]), cout
    x = n.node("Flatten", [n.node("GlobalAveragePool", [x])], axis=1)
    return n.model((1, 3, 16, 16), n.linear(x, c, 10))


def mobilenet_v2(seed=1):
    """MobileNetV2-like: inverted residuals (1x1 expand, 3x3 depthwise, 1x1 project, ReLU6), a residual Add."""
    n = Net("mobilenet_v2", seed)
    x = n.relu6(n.bn(n.conv("input", 3, 8, 3, 2, 1, bias=False), 8))
    c = 8
    for cout, stride, expand in ((8, 1, 1), (12, 2, 4), (12, 1, 4), (16, 2, 4)):
        hid = c * expand
        y = x if expand == 1 else n.relu6(n.bn(n.conv(x, c, hid, 1, bias=False), hid))
        y = n.relu6(n.bn(n.conv(y, hid, hid, 3, stride, 1, group=hid, bias=False), hid))
        y = n.bn(n.conv(y, hid, cout, 1, bias=False), cout)
        x = n.node("Add", [x, y]) if (stride == 1 and c == cout) else y
        c = cout
    x = n.relu6(n.bn(n.conv(x, c, 32, 1, bias=False), 32))
    x = n.node("Flatten", [n.node("GlobalAveragePool", [x])], axis=1)
    x = n.node("Dropout", [x])
    return n.model((1, 3, 24, 24), n.linear(x, 32, 5))


def ds_cnn(seed=2):
    """A DS-CNN keyword spotter on a (1, 1, 25, 10) MFCC map: conv 10x4 stride 2, depthwise-separable blocks,
    average pool, Flatten, Linear, Softmax."""
    n = Net("ds_cnn", seed)
    x = n.node("Relu", [n.bn(n.conv("input", 1, 16, (5, 3), 2, 0), 16)])
    for i in range(2):
        w = n.init(f"dw{i}.weight", n.w(16, 1, 3, 3, fan_in=9))
        x = n.node("Conv", [x, w], group=16, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
        x = n.node("Relu", [n.bn(x, 16)])
        x = n.node("Relu", [n.bn(n.conv(x, 16, 16, 1), 16)])
    x = n.node("AveragePool", [x], kernel_shape=[11, 4], strides=[11, 4])
    x = n.view_flat(x)
    return n.model((1, 1, 25, 10), n.node("Softmax", [n.linear(x, 16, 12)], axis=1))


def har_1d(seed=3):
    """A 1-D conv activity model on (1, 6, 64) accelerometer windows: Conv1d, BN, ReLU, MaxPool1d, a dilated
    Conv1d, Flatten of the (C, L) map (PyTorch order) into Linear layers."""
    n = Net("har_1d", seed)
    x = n.node("Relu", [n.bn(n.conv("input", 6, 12, 5, 1, 2, nd=1), 12)])
    x = n.node("MaxPool", [x], kernel_shape=[2], strides=[2])
    x = n.node("Relu", [n.conv(x, 12, 16, 3, 1, 2, dil=2, nd=1)])
    x = n.node("MaxPool", [x], kernel_shape=[4], strides=[4])
    x = n.node("Flatten", [x], axis=1)  # (1, 16 * 8) in channel-major order
    x = n.node("Relu", [n.linear(x, 128, 32)])
    return n.model((1, 6, 64), n.linear(x, 32, 6))


def mlp(seed=4):
    """An MLP as MatMul + Add (a Linear's weights pre-transposed) with LeakyReLU, Sigmoid and a Tanh head."""
    n = Net("mlp", seed)
    x = "input"
    for i, (a, b) in enumerate(((20, 32), (32, 16))):
        x = n.node("MatMul", [x, n.init(f"W{i}", n.w(b, a).T.copy())])
        x = n.node("Add", [x, n.init(f"b{i}", n.rng.standard_normal(b).astype(np.float32) * 0.1)])
        x = n.node("LeakyRelu", [x], alpha=0.1) if i == 0 else n.node("Sigmoid", [x])
    x = n.node("MatMul", [x, n.init("W2", n.w(4, 16).T.copy())])
    x = n.node("Add", [n.init("b2", np.zeros(4, np.float32)), x])
    return n.model((1, 20), n.node("Tanh", [x]))


def autoencoder(seed=5):
    """A conv autoencoder: two stride-2 Convs down, ConvTranspose up (k3 s2 p1 output_padding 1, k4 s2 p1,
    k2 s2), PReLU and a Sigmoid output image."""
    n = Net("autoencoder", seed)
    x = n.node("Relu", [n.conv("input", 2, 8, 3, 2, 1)])
    x = n.node("Relu", [n.conv(x, 8, 12, 3, 2, 1)])
    for i, (cin, cout, k, pad, extra) in enumerate(((12, 8, 3, 1, 1), (8, 6, 4, 1, 0), (6, 2, 2, 0, 0))):
        w = n.init(f"deconv{i}.weight", n.w(cin, cout, k, k, fan_in=cin * k * k // 4))
        bias = n.init(f"deconv{i}.bias", n.rng.standard_normal(cout).astype(np.float32) * 0.1)
        x = n.node("ConvTranspose", [x, w, bias], kernel_shape=[k, k], strides=[2, 2], pads=[pad] * 4,
                   output_padding=[extra, extra], dilations=[1, 1], group=1)
        if i == 0:
            x = n.node("PRelu", [x, n.init("prelu.weight", np.linspace(0.05, 0.3, cout, dtype=np.float32)[:, None, None])])
        elif i == 1:
            x = n.node("Relu", [x])
    return n.model((1, 2, 12, 16), n.node("Sigmoid", [x]))


def unet(seed=6):
    """A small segmentation net: conv, MaxPool, conv, nn.Upsample(nearest) (Resize asymmetric / floor with
    scales), Concat with the skip, conv, bilinear upsample (Resize linear, pytorch_half_pixel, with sizes)."""
    n = Net("unet", seed)
    skip = n.node("Relu", [n.conv("input", 3, 8, 3, 1, 1)])
    x = n.node("MaxPool", [skip], kernel_shape=[2, 2], strides=[2, 2])
    x = n.node("Relu", [n.conv(x, 8, 8, 3, 1, 1)])
    scales = n.init("up.scales", np.array([1, 1, 2, 2], np.float32))
    x = n.node("Resize", [x, "", scales], coordinate_transformation_mode="asymmetric", mode="nearest",
               nearest_mode="floor")
    x = n.node("Concat", [skip, x], axis=1)
    x = n.node("Relu", [n.conv(x, 16, 4, 3, 1, 1)])
    sizes = n.init("up2.sizes", np.array([1, 4, 24, 20], np.int64))
    x = n.node("Resize", [x, "", "", sizes], coordinate_transformation_mode="pytorch_half_pixel", mode="linear")
    return n.model((1, 3, 12, 10), n.conv(x, 4, 2, 1))


def layout_mix(seed=7):
    """Axis-carrying ops on channels-last data, and one real Transpose (H <-> W) that must stay a TRANSPOSE:
    Split / Concat on C, Slice and Pad on H, ReduceMean over W, a per-channel Mul, Sub with broadcasting,
    Div by a constant, Unsqueeze / Squeeze, HardSigmoid, Clip(-1, 1), Elu, GlobalMaxPool, LogSoftmax."""
    n = Net("layout_mix", seed)
    a = n.conv("input", 4, 8, 3, 1, 1)
    s1, s2 = n.node("Split", [a, n.init("split", np.array([3, 5], np.int64))], n_out=2, axis=1)
    s1 = n.node("HardSigmoid", [s1], alpha=0.2, beta=0.5)
    s2 = n.node("Mul", [s2, n.init("chan_scale", np.linspace(0.5, 2, 5, dtype=np.float32).reshape(1, 5, 1, 1))])
    c = n.node("Concat", [s1, s2], axis=1)
    i64 = lambda name, v: n.init(name, np.array(v, np.int64))  # noqa: E731
    t = n.node("Slice", [c, i64("starts", [1]), i64("ends", [7]), i64("axes", [2])])
    p = n.node("Pad", [t, i64("pads", [0, 0, 1, 0, 0, 0, 1, 0])], mode="constant")
    r = n.node("ReduceMean", [p], axes=[3], keepdims=1)
    m = n.node("Div", [n.node("Sub", [p, r]), n.init("two", np.array(2.0, np.float32))])
    m = n.node("Squeeze", [n.node("Unsqueeze", [m, i64("ax0", [0])]), i64("ax0b", [0])])
    lo, hi = n.init("lo", np.array(-1.0, np.float32)), n.init("hi", np.array(1.0, np.float32))
    m = n.node("Elu", [n.node("Clip", [m, lo, hi])], alpha=1.0)
    tr = n.node("Transpose", [m], perm=[0, 1, 3, 2])
    x = n.node("Relu", [n.conv(tr, 8, 6, (3, 2), 1, 0)])
    x = n.node("Flatten", [n.node("GlobalMaxPool", [x])], axis=1)
    return n.model((1, 4, 8, 7), n.node("LogSoftmax", [n.linear(x, 6, 5)], axis=-1), opset=13)


def reduce_group(seed=8):
    """A grouped conv (groups=2), ReduceMax over W without keepdims (a rank-3 value in a derived layout),
    ReduceSum (axes as an input, opset 13), Tanh, a constant minus a tensor, Flatten, Linear."""
    n = Net("reduce_group", seed)
    a = n.node("Relu", [n.conv("input", 4, 6, 3, 1, 1, group=2)])
    r = n.node("ReduceMax", [a], axes=[3], keepdims=0)
    r = n.node("ReduceSum", [r, n.init("sum_axes", np.array([2], np.int64))], keepdims=1)
    r = n.node("Mul", [r, n.init("gain", np.array(0.1, np.float32))])
    r = n.node("Sub", [n.init("one", np.array(1.0, np.float32)), n.node("Tanh", [r])])
    return n.model((1, 4, 6, 5), n.linear(n.node("Flatten", [r], axis=1), 6, 3), opset=13)


def gather_seq(seed=9):
    """Gather on activations: a channel selection x[:, [0, 2, 5, 7]] (GATHER on the stored channel axis) and
    the last time step x[:, :, -1] (a scalar index: a slice that drops the axis) of 1-D conv outputs."""
    n = Net("gather_seq", seed)
    a = n.node("Relu", [n.conv("input", 4, 8, 3, 1, 1, nd=1)])
    a = n.node("Gather", [a, n.init("channels", np.array([0, 2, 5, 7], np.int64))], axis=1)
    a = n.node("Relu", [n.conv(a, 4, 6, 3, 1, 1, nd=1)])
    a = n.node("Gather", [a, n.init("last", np.array(-1, np.int64))], axis=2)
    return n.model((1, 4, 16), n.linear(a, 6, 3))


FIXTURES = {"gather_seq": gather_seq, "reduce_group": reduce_group, "unet": unet, "autoencoder": autoencoder, "resnet8": resnet8, "mobilenet_v2": mobilenet_v2, "ds_cnn": ds_cnn, "har_1d": har_1d, "mlp": mlp}
