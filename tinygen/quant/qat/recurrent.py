"""QAT for Keras LSTM, GRU and SimpleRNN: the layer unrolled in keras.ops, as tinygen's int8 op computes it.

- LSTM (one UNIDIRECTIONAL_SEQUENCE_LSTM, tinygen/quant/lstm.py): the int8 kernel takes per-tensor
  weights, so each gate's input and recurrent kernels are fake-quantized with one symmetric scale
  (max|w| / 127) each; the hidden state h is the output (its int8 range, learned over every step); the
  cell state c is clipped at 10 (the converter's cell_clip) and fake-quantized to int16 at the
  power-of-two scale of its learned max |c|, as post-training quantization sets it.
- GRU / SimpleRNN (the GRU / RNN ops, tinygen/quant/gru.py): the layer's step program of FCs, ADDs,
  MULs, LOGISTICs and TANHs, with each FC's weights fake-quantized per row (per-channel int8) and every
  value of the program fake-quantized on its own learned range (LOGISTIC / TANH outputs at their fixed
  parameters), the value set post-training quantization calibrates; h is the output's when the layer
  returns sequences.

Every range is learned over all time steps of a batch (the loop runs on the previous ranges, then they
move). Dropout and recurrent dropout are left out (identity at inference).
"""
from __future__ import annotations

from keras import ops

from tinygen.ir import OpKind
from tinygen.quant import gru as qgru
from tinygen.quant.lstm import CELL_BITS_MAX
from tinygen.quant.qat import layers as ql
from tinygen.quant.qat import quantizers as qq
from tinygen.quant.qat.blocks import _Block, _register

RECURRENT = ("LSTM", "GRU", "SimpleRNN")
CELL_CLIP = 10.0  # frontend/keras_recurrent.py: TF's converter's cell_clip for a Keras LSTM
_INT8 = qq.IntQuantizer(8)


def cell_attrs(layer) -> qgru.CellAttrs:
    """The GRU / RNN op options of a Keras GRU or SimpleRNN (as frontend/keras_gru.py sets them)."""
    cfg = layer.get_config()
    act = cfg.get("activation", "tanh")
    act = act if isinstance(act, str) else getattr(act, "__name__", str(act))
    gru = type(layer).__name__ == "GRU"
    return qgru.CellAttrs("tanh" if gru else act, bool(cfg.get("reset_after", True)) if gru else True,
                          bool(cfg.get("go_backwards")), bool(cfg.get("return_sequences")))


def _fake_int16_pow2(c, lo, hi):
    """c on int16 at 2^p / 32768, p the smallest integer in [0, 10] with 2^p >= max(|lo|, |hi|)."""
    m = ops.maximum(ops.maximum(ops.abs(lo), ops.abs(hi)), 1e-30)
    p = ops.clip(ops.ceil(ops.log2(m)), 0.0, float(CELL_BITS_MAX))
    scale = ops.power(2.0, p) / 32768.0
    q = ops.clip(qq.round_away(c / scale), -32768.0, 32767.0) * scale
    return qq.straight_through(c, q)


@_register
class QuantizedRecurrent(_Block):
    """LSTM / GRU / SimpleRNN (`layer`) with int8 fake-quantized kernels (module docstring)."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        kind = type(self.layer).__name__
        if kind not in RECURRENT:
            raise ValueError(f"QuantizedRecurrent: cannot quantize a {kind}")
        self.kind = kind
        if kind == "LSTM":
            names = ["c"]
        else:
            op = OpKind.GRU if kind == "GRU" else OpKind.RNN
            names = [v for v in qgru.calibrated(op, cell_attrs(self.layer)) if v != "h" or not self.shares_h]
        self.trackers = {k: ql.RangeTracker(ema_decay=self.ema_decay, name=k) for k in names}

    def output_quantizer(self):
        """What learns the output range: this layer, or the range a Bidirectional concat shares (a method:
        Keras' saving walks properties, and one returning the layer itself would loop)."""
        return self.shared_output if getattr(self, "shared_output", None) is not None else self

    def output_range(self):
        return self.shared_output.output_range() if self.output_quantizer() is not self else super().output_range()

    @property
    def op_kind(self) -> OpKind:
        return {"LSTM": OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, "GRU": OpKind.GRU, "SimpleRNN": OpKind.RNN}[self.kind]

    @property
    def shares_h(self) -> bool:
        """GRU / RNN: h takes the output's parameters (the layer returns h at every step, h not fixed)."""
        if self.kind == "LSTM":
            return False
        attrs = cell_attrs(self.layer)
        prog = qgru.program(OpKind.GRU if self.kind == "GRU" else OpKind.RNN, attrs)
        return attrs.return_sequences and qgru.fixed_params(prog[-1]) is None

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        for t in self.trackers.values():
            t.build(None)
        self._build_range()

    # ---- weights ----
    def _fake(self, w, gates: int):
        """LSTM: one scale per gate block of columns; GRU / RNN: one per column (row of the IR's W / R)."""
        if self.kind != "LSTM":
            return _INT8.fake_quant(w, 1)
        blocks = ops.reshape(w, (w.shape[0], gates, -1))
        return ops.reshape(_INT8.fake_quant(blocks, 1), w.shape)

    def quantized(self) -> dict:
        """{"kernel" / "recurrent_kernel": (codes, scale, float kernel, float bias)} in Keras layout; LSTM
        scales per gate (i, f, c, o), GRU / RNN per column. The bias is the input (kernel) or recurrent one."""
        cell = self.layer.cell
        bx, bh = self.biases()
        out = {}
        for name, w, b in (("kernel", cell.kernel, bx), ("recurrent_kernel", cell.recurrent_kernel, bh)):
            if self.kind == "LSTM":
                codes, scale = _INT8.quantize(ops.reshape(w, (w.shape[0], 4, -1)), 1)
                codes = ops.reshape(codes, w.shape)
            else:
                codes, scale = _INT8.quantize(w, 1)
            out[name] = tuple(ops.convert_to_numpy(v) for v in (codes, scale, w, b))
        return out

    def biases(self):
        """(input-side bias, recurrent-side bias), each of the kernel's column count (zeros when absent)."""
        cell = self.layer.cell
        cols = int(cell.kernel.shape[1])
        zeros = ops.zeros((cols,))
        if not getattr(cell, "use_bias", True) or cell.bias is None:
            return zeros, zeros
        if self.kind == "GRU" and cell.reset_after:
            b = ops.reshape(cell.bias, (2, cols))
            return b[0], b[1]
        return ops.reshape(cell.bias, (cols,)), zeros

    # ---- forward ----
    def call(self, x, training=None):
        if self.layer.go_backwards:
            x = ops.flip(x, axis=1)
        steps = [x[:, t, :] for t in range(int(x.shape[1]))]
        hs, raw = (self._lstm if self.kind == "LSTM" else self._cell)(steps)
        for k, vals in raw.items():
            if k == "out":
                self.output_quantizer()._observe(ops.stack(vals, axis=1), training)
            else:
                self.trackers[k].observe(ops.stack(vals), training)
        if self.layer.return_sequences:
            if "out" not in raw:  # h at TANH's fixed parameters: the output has its own range
                self.output_quantizer()._observe(ops.stack(hs, axis=1), training)
            return self.output_quantizer()._apply(ops.stack(hs, axis=1))
        if self.kind == "LSTM":
            return hs[-1]  # a slice of the sequence output: its parameters
        self.output_quantizer()._observe(raw.get("h", hs)[-1], training)  # the output: the last h, requantized
        return self.output_quantizer()._apply(hs[-1])

    def _lstm(self, steps):
        cell = self.layer.cell
        units = int(cell.units)
        kx, kh = self._fake(cell.kernel, 4), self._fake(cell.recurrent_kernel, 4)
        b = self.biases()[0]
        c_range = self.trackers["c"]
        h = c = ops.zeros((ops.shape(steps[0])[0], units))
        hs, raw_h, raw_c = [], [], []
        for xt in steps:
            z = ops.matmul(xt, kx) + ops.matmul(h, kh) + b
            i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
            c = ops.clip(ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g), -CELL_CLIP, CELL_CLIP)
            raw_c.append(c)
            c = ops.where(c_range.range_ready > 0, _fake_int16_pow2(c, c_range.range[0], c_range.range[1]), c)
            h_raw = ops.sigmoid(o) * ops.tanh(c)
            raw_h.append(h_raw)
            h = self.output_quantizer()._apply(h_raw)
            hs.append(h)
        return hs, {"out": raw_h, "c": raw_c}

    def _value(self, name: str, step, v):
        """A program value fake-quantized: fixed LOGISTIC / TANH parameters, else its learned range."""
        fixed = qgru.fixed_params(step)
        if fixed is not None:
            return qq.fake_quant_activation(v, *ql.FIXED_RANGES["sigmoid" if step.kind == "sigmoid" else "tanh"])
        return self.output_quantizer()._apply(v) if name == "h" and self.shares_h else self.trackers[name].apply(v)

    def _cell(self, steps):
        cell = self.layer.cell
        units = int(cell.units)
        bx, bh = self.biases()
        sides = {"W": (self._fake(cell.kernel, 1), bx), "R": (self._fake(cell.recurrent_kernel, 1), bh)}
        prog = qgru.program(OpKind.GRU if self.kind == "GRU" else OpKind.RNN, cell_attrs(self.layer))
        h = ops.zeros((ops.shape(steps[0])[0], units))
        hs, raw = [], {}
        for xt in steps:
            v = {"x": xt, "h": h}
            for s in prog:
                y = _step(s, v, sides, units)
                if qgru.fixed_params(s) is None:
                    raw.setdefault("out" if s.out == "h" and self.shares_h else s.out, []).append(y)
                v[s.out] = self._value(s.out, s, y)
            h = v["h"]
            hs.append(h)
        return hs, raw


def _step(s, v: dict, sides: dict, units: int):
    """One float step of tinygen's GRU / RNN program (tinygen/quant/gru.py) in keras.ops."""
    if s.kind == "fc":
        w, b = sides[s.b]
        cols = slice(s.gate * units, (s.gate + 1) * units)
        return ops.matmul(v[s.a], w[:, cols]) + b[cols]
    a = v[s.a]
    if s.kind == "sigmoid":
        return ops.sigmoid(a)
    if s.kind == "tanh":
        return ops.tanh(a)
    b = v[s.b]
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
            "add_relu": lambda: ops.relu(a + b)}[s.kind]()


@_register
class QuantizedBidirectional(_Block):
    """Bidirectional(LSTM / GRU / SimpleRNN) as tinygen lowers it (frontend/keras_recurrent.py): the two
    directions are QuantizedRecurrent blocks on the wrapper's own inner layers, then the merge: concat
    shares one range with both directions (CONCATENATION keeps its inputs' parameters); sum and mul
    learn the merged range; ave learns the sum's range, then the halved output's."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        inner = type(self.layer.forward_layer).__name__
        if type(self.layer).__name__ != "Bidirectional" or inner not in RECURRENT:
            raise ValueError(f"QuantizedBidirectional: cannot quantize a {type(self.layer).__name__} of {inner}")
        self.mode = self.layer.merge_mode
        self.fwd = QuantizedRecurrent(self.layer.forward_layer, ema_decay=self.ema_decay, name="forward")
        self.bwd = QuantizedRecurrent(self.layer.backward_layer, ema_decay=self.ema_decay, name="backward")
        self.merged = ql.RangeTracker(ema_decay=self.ema_decay, name="merged")  # concat: shared; ave: the sum
        if self.mode == "concat":
            self.fwd.shared_output = self.bwd.shared_output = self.merged

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        for part in (self.fwd, self.bwd):
            part.build(input_shape)
        self.merged.build(None)
        self._build_range()

    def call(self, x, training=None):
        f, b = self.fwd(x, training=training), self.bwd(x, training=training)
        if self.layer.backward_layer.return_sequences:
            b = ops.flip(b, axis=1)
        if self.mode == "concat":
            return ops.concatenate([f, b], axis=-1)
        if self.mode == "mul":
            return self._quantize_output(f * b, training)
        y = f + b
        if self.mode == "ave":
            y = self.merged(y, training=training) * 0.5
        return self._quantize_output(y, training)

    def output_range(self):
        return self.merged.output_range() if self.mode == "concat" else super().output_range()
