"""UNIDIRECTIONAL_SEQUENCE_LSTM against TFLM's interpreter, byte for byte.

Models: TF's converter on a fused Keras-style LSTM (int8 activations, int16 cell state; tests/lstm_models.py
lstm_model) over units 1..64, features, steps, the whole sequence or its last step, time-major and batch 2;
and single-op models written by tinygen's flatbuffer writer (raw_lstm_model) for what the converter does not
write: 16x8, cell clipping, other cell scales, a non-zero hidden zero point, batches. Each sample runs from
the initial (zero) state, as a fresh TFLM interpreter does; the generated C (portable and DSP-emulated paths)
and the NumPy reference must both equal TFLM.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from lstm_models import lstm_model, raw_lstm_model
from oracle import tflm_run
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.ir import OpKind
from tinygen.verify.testing import host_model_for, run_reference

N_SAMPLES = 4

# (units, features, steps, return_sequences, extra keyword arguments)
CONVERTED = [
    (1, 1, 1, True, {}),
    (4, 3, 5, False, {}),
    (20, 28, 28, True, {}),
    (64, 16, 4, True, {}),
    (7, 5, 6, True, {"time_major": True, "batch": 2}),
    (9, 6, 3, False, {"dense": 3, "batch": 2}),
]
RAW = [
    dict(units=8, features=5, steps=6, mode="int16"),
    dict(units=33, features=12, steps=4, mode="int16", cell_log2=-12),
    dict(units=6, features=7, steps=3, mode="int16", batch=3, time_major=True, cell_clip=1.0, cell_log2=-10),
    dict(units=5, features=3, steps=4, mode="int8", cell_clip=0.5, h_zero_point=7),
    dict(units=12, features=9, steps=5, mode="int8", batch=2, cell_log2=-15, h_zero_point=-20),
    dict(units=3, features=300, steps=2, mode="int16", weight_std=127.0),
    # zero points TF's converter does not write; TFLM applies x's and h's (also for int16), ignores c's
    dict(units=6, features=5, steps=4, mode="int16", x_zero_point=300, h_zero_point=-200, c_zero_point=5),
    dict(units=4, features=6, steps=3, mode="int8", x_zero_point=100, h_zero_point=-128, c_zero_point=-9,
         y_quant=(0.5, 3)),  # the output is h's bytes whatever its own parameters (as TFLM copies them)
    dict(units=5, features=4, steps=3, mode="int8", cell_clip=1e-5),  # clip below c's step: TFLM zeroes c
    # asymmetric per-tensor weights (TFLM applies their offsets; TF's converter writes symmetric ones)
    dict(units=7, features=6, steps=3, mode="int8", weight_zero_point=-5, h_zero_point=9),
    dict(units=5, features=9, steps=3, mode="int16", weight_zero_point=4, x_zero_point=-70, batch=2),
]


@functools.lru_cache(maxsize=None)
def _converted(case: int) -> bytes:
    units, features, steps, seqs, kw = CONVERTED[case]
    return lstm_model(units, features, steps, seqs, "int8", seed=case, **kw)


def _samples(graph, rng, n: int) -> list:
    """Random values over the input's whole range, then all-min and all-max."""
    t = graph.tensors[graph.inputs[0]]
    info = np.iinfo(np.dtype(t.dtype))
    xs = [rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype) for _ in range(n)]
    return xs + [np.full(t.shape, info.min, t.dtype), np.full(t.shape, info.max, t.dtype)]


def _check(tmp_path, data: bytes, seed: int, kernel_path: str = "portable") -> None:
    path = tmp_path / "lstm.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    assert OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM in [op.kind for op in graph.ops]
    lowered = lower(graph)
    model = host_model_for(graph, kernel_path=kernel_path)
    for k, x in enumerate(_samples(graph, np.random.default_rng(seed), N_SAMPLES)):
        want = tflm_run(path, [x])
        model.reset()  # every sample from the initial state, as a fresh interpreter
        got = model([x])
        ref = run_reference(graph, [x], lowered)
        for i, w in enumerate(want):
            c_out = np.asarray(got[i]).reshape(w.shape)
            r_out = np.asarray(ref[i]).reshape(w.shape)
            assert c_out.dtype == w.dtype and c_out.tobytes() == w.tobytes(), \
                f"sample {k} output {i}: C differs from TFLM at {np.argwhere(c_out != w)[:5].tolist()}"
            assert r_out.tobytes() == w.tobytes(), \
                f"sample {k} output {i}: reference differs from TFLM at {np.argwhere(r_out != w)[:5].tolist()}"


@pytest.mark.parametrize("case", range(len(CONVERTED)),
                         ids=[f"u{u}_f{f}_t{t}_{'seq' if s else 'last'}{''.join(f'_{k}{v}' for k, v in kw.items())}"
                              for u, f, t, s, kw in CONVERTED])
def test_converted_int8_lstm_equals_tflm(case, tmp_path):
    _check(tmp_path, _converted(case), case)


@pytest.mark.parametrize("kw", RAW, ids=[f"{k['mode']}_u{k['units']}_f{k['features']}_t{k['steps']}_{i}"
                                         for i, k in enumerate(RAW)])
def test_written_lstm_equals_tflm(kw, tmp_path):
    _check(tmp_path, raw_lstm_model(**kw), kw["units"])


@pytest.mark.parametrize("case", [2, 4])
def test_device_kernel_path_equals_tflm(case, tmp_path):
    """The Cortex-M branch (SMLAD / SXTB16), its instructions emulated in C."""
    _check(tmp_path, _converted(case), 100 + case, kernel_path="device")


@pytest.mark.parametrize("index", [5, len(RAW) - 2, len(RAW) - 1])
def test_device_kernel_path_written_equals_tflm(index, tmp_path):
    """Long 16x8 rows (several int32 chunks) and asymmetric weights on the Cortex-M branch."""
    _check(tmp_path, raw_lstm_model(**RAW[index]), 7, kernel_path="device")


def test_cell_clip_is_reached(tmp_path):
    """The clipping models really clip: some cell value sits on the bound in the reference run."""
    from tinygen.lower.recurrent import Q_CLIP, lstm_step, plan_lstm

    for kw in (RAW[2], RAW[3]):
        path = tmp_path / "clip.tflite"
        path.write_bytes(raw_lstm_model(**kw))
        graph = load_model(str(path))
        (op,) = graph.ops
        p = plan_lstm(op, graph)
        assert p.q[Q_CLIP] > 0
        rng = np.random.default_rng(1)
        h = np.zeros((p.batch, p.units), np.int64)
        c = np.zeros((p.batch, p.units), np.int64)
        hit = False
        for _ in range(6):
            x = rng.integers(-100, 100, size=(p.batch, p.features))
            h, c = lstm_step(p, x, h, c)
            hit |= bool(np.any(np.abs(c) == p.q[Q_CLIP]))
        assert hit, kw


# ---- refused forms ---------------------------------------------------------------------------------


def _patched(data: bytes, index: int, value: int) -> bytes:
    """The LSTM operator's operand `index` set to tensor `value` (-1: absent)."""
    import tflite

    buf = bytearray(data)
    sub = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    (op,) = [sub.Operators(i) for i in range(sub.OperatorsLength()) if sub.Operators(i).InputsLength() == 24]
    start = op._tab.Vector(op._tab.Offset(6))
    buf[start + 4 * index:start + 4 * index + 4] = np.int32(value).astype("<i4").tobytes()
    return bytes(buf)


@pytest.mark.parametrize("index,value,field", [
    (9, 1, "cell_to_input_weights (peephole)"),
    (16, 1, "projection_weights"),
    (22, 12, "cell_layer_norm_coefficients"),
    (1, -1, "input_to_input_weights (input 1) is missing: CIFG"),
])
def test_variants_are_refused_naming_the_field(index, value, field, tmp_path):
    path = tmp_path / "variant.tflite"
    path.write_bytes(_patched(raw_lstm_model(units=4, features=3, steps=2, mode="int8"), index, value))
    with pytest.raises(TinygenError) as err:
        load_model(str(path))
    msg = str(err.value)
    assert field in msg and "UNIDIRECTIONAL_SEQUENCE_LSTM" in msg and "\n" not in msg


def test_scratch_size_matches_the_c_twin():
    from tinygen.lower.recurrent import scratch_bytes
    from tinygen.paths import runtime_file, runtime_include_dirs
    from tinygen.verify.hostbuild import build_extension

    cdef = ("int32_t tg_lstm_s8_get_buffer_size(int32_t, int32_t);"
            "int32_t tg_lstm_s16_get_buffer_size(int32_t, int32_t);")
    _, lib = build_extension(cdef, "#include <stdint.h>\n" + cdef,
                             [runtime_file("tg_lstm_s8.c"), runtime_file("tg_lstm_s16.c")], runtime_include_dirs())
    for features, units in ((1, 1), (3, 5), (28, 20), (300, 64), (8, 7)):
        assert lib.tg_lstm_s8_get_buffer_size(features, units) == scratch_bytes(features, units)
        assert lib.tg_lstm_s16_get_buffer_size(features, units) == scratch_bytes(features, units)


@pytest.mark.parametrize("which", ["converted_int8", "written_16x8"])
def test_state_carries_across_invokes_like_tflm(which, tmp_path):
    """50 invokes without a reset through one TFLM interpreter, the C model and the NumPy reference (h and
    c carry over), then 10 more after a reset against a fresh interpreter."""
    from oracle import tflm_interpreter, tflm_run_with
    from tinygen.memory.state import initial_state

    data = _converted(4) if which == "converted_int8" else raw_lstm_model(**RAW[2])
    path = tmp_path / "seq.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph)
    xs = _samples(graph, np.random.default_rng(5), 48)
    for label, run in (("no reset", xs), ("after reset", xs[:10])):
        model.reset()
        interp, state = tflm_interpreter(path), initial_state(graph)
        changed = False
        for k, x in enumerate(run):
            (want,) = tflm_run_with(interp, [x], 1)
            (got,) = model([x])
            (ref,) = run_reference(graph, [x], lowered, state=state)
            assert np.asarray(got).reshape(want.shape).tobytes() == want.tobytes(), f"{label}: invoke {k}: C"
            assert np.asarray(ref).reshape(want.shape).tobytes() == want.tobytes(), f"{label}: invoke {k}: ref"
            changed |= tflm_run(path, [x])[0].tobytes() != want.tobytes()
        assert changed, f"{label}: the carried state never changed an output"


@pytest.mark.parametrize("field,value,words", [
    ("FusedActivationFunction", 1, "fused_activation_function 1 of the cell gate"),
    ("DiagonalRecurrentTensors", True, "diagonal_recurrent_tensors"),
    ("CellClip", -1.0, "cell_clip -1.0 must be >= 0"),
])
def test_options_tflm_cannot_run_are_refused(field, value, words):
    """Options TFLM's kernel does not evaluate (or rejects) stop the conversion with a one-line error."""
    from tinygen.frontend import tflite as frontend
    from tinygen.frontend.tflite_parse import parse

    model = parse(raw_lstm_model(units=4, features=3, steps=2, mode="int8"), "lstm.tflite")
    (op,) = [o for o in model.ops if o.opname == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    op.options[field] = value
    with pytest.raises(TinygenError) as err:
        frontend._build(model)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_float_lstm_tflite_is_quantized_like_tf(tmp_path):
    """A float LSTM .tflite (TF's converter without quantization) builds: tinygen quantizes it (quant/lstm.py),
    C == NumPy reference == TFLM on the export; the weights equal those of TF's own int8 conversion of the
    same function byte for byte, and the cell state gets the same power-of-two scale."""
    from tinygen.compiler import quantize
    from tinygen.verify.export_tflite import to_bytes

    path = tmp_path / "float_lstm.tflite"
    path.write_bytes(lstm_model(6, 3, 5, True, "float"))
    graph = load_model(str(path))
    calib = np.random.default_rng(0).normal(0, 1.0, (24, 5, 3)).astype(np.float32)  # lstm_model's own
    q = quantize(graph, calib)
    (tmp_path / "int8.tflite").write_bytes(lstm_model(6, 3, 5, True, "int8"))
    tf_int8 = load_model(str(tmp_path / "int8.tflite"))
    ours, theirs = ([o for o in g.ops if o.kind == OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM][0] for g in (q, tf_int8))
    for k in range(1, 9):  # the 8 weight tensors: per-tensor symmetric int8, equal to TF's byte for byte
        a, b = q.tensors[ours.inputs[k]], tf_int8.tensors[theirs.inputs[k]]
        assert a.data.tobytes() == b.data.tobytes() and a.scale == b.scale and a.zero_point == b.zero_point == 0
    assert q.tensors[ours.inputs[14]].scale == tf_int8.tensors[theirs.inputs[14]].scale
    tfl, lowered, model = to_bytes(q), lower(q), host_model_for(q)
    t = q.tensors[q.inputs[0]]
    for k in range(4):
        x = np.random.default_rng(k).integers(-128, 128, t.shape).astype(np.int8)
        model.reset()
        (want,) = tflm_run(tfl, [x])
        assert np.asarray(model([x])[0]).reshape(want.shape).tobytes() == want.tobytes(), f"sample {k}: C"
        assert np.asarray(run_reference(q, [x], lowered)[0]).reshape(want.shape).tobytes() == want.tobytes()


def test_accumulator_bound_refuses_a_row_that_could_wrap():
    """140000 int8 inputs against +-127 weights can pass 2^31 in the int32 gate accumulator: refused in
    one line naming the layer; a row of 70000 is proven safe."""
    from tinygen.frontend.tflite import load_tflite
    from tinygen.lower import bounds

    safe = load_tflite(raw_lstm_model(units=1, features=70000, steps=1, mode="int8", weight_std=1e6))
    (report,) = bounds.accumulator_bounds(safe).values()
    assert report["safe"] and report["acc_len"] == 70000
    wide = load_tflite(raw_lstm_model(units=1, features=140000, steps=1, mode="int8", weight_std=1e6))
    with pytest.raises(TinygenError) as err:
        bounds.check(wide)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(err.value) and "\n" not in str(err.value)


def test_graph_with_lstm_survives_save_and_load(tmp_path):
    from tinygen.ir import serialize

    path = tmp_path / "lstm.tflite"
    path.write_bytes(raw_lstm_model(**RAW[2]))
    graph = load_model(str(path))
    serialize.save(graph, tmp_path)
    back = serialize.load(tmp_path)
    assert [o.attrs for o in back.ops] == [o.attrs for o in graph.ops]
    assert {n for n, t in back.tensors.items() if t.variable} == {n for n, t in graph.tensors.items() if t.variable}


@pytest.mark.parametrize("kernel_path", ["portable", "device"])
def test_signed_activation_table_equals_tflm_lookup(kernel_path, tmp_path):
    """tg_lstm_core.h's sigmoid / tanh (one interpolation in the signed table, no mirror or saturation test)
    against the NumPy model of TFLM's int16 LOGISTIC / TANH, at every gate input 3 * pre (pre int16) and,
    for the tanh, over +-2^17 and the int32 ends (the cell tanh's input saturates to 17 bits first)."""
    import shutil
    import subprocess

    from tinygen.lower.int16_act import sigmoid16_reference
    from tinygen.lower.recurrent import signed_table
    from tinygen.paths import runtime_include_dirs
    from tinygen.verify.hostbuild import kernel_path_cflags

    gcc = shutil.which("gcc") or pytest.fail("gcc is missing: run `make sysdeps`")
    gate = 3 * np.arange(-(1 << 15), 1 << 15, dtype=np.int64)
    wide = np.concatenate([np.arange(-(1 << 17) - 300, (1 << 17) + 300), [-(1 << 31), (1 << 31) - 1]])
    words = ",".join(str(int(w)) for w in signed_table())
    src = tmp_path / "t.c"
    src.write_text(f"""#include <stdio.h>
#include "tg_lstm_core.h"
static const int32_t table[512] = {{{words}}};
int main(void) {{
    const int32_t *mid = table + 256;
    int32_t v;
    for (v = -98304; v < 98304; v += 3) printf("%d\\n", tg_lstm_sigmoid(v, mid));
    for (v = -98304; v < 98304; v += 3) printf("%d\\n", tg_lstm_tanh(v, mid));
    for (v = -(1 << 17) - 300; v < (1 << 17) + 300; ++v) printf("%d\\n", tg_lstm_tanh(v, mid));
    printf("%d\\n%d\\n", tg_lstm_tanh(INT32_MIN, mid), tg_lstm_tanh(INT32_MAX, mid));
    return 0;
}}
""")
    exe = tmp_path / "t"
    incs = [f"-I{d}" for d in runtime_include_dirs()]
    subprocess.run([gcc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", *kernel_path_cflags(kernel_path), *incs,
                    str(src), "-o", str(exe)], check=True)
    got = np.array(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split(), np.int64)
    want = np.concatenate([sigmoid16_reference(gate, 1, 0, False), sigmoid16_reference(gate, 1, 0, True),
                           sigmoid16_reference(wide, 1, 0, True)]).astype(np.int64)
    np.testing.assert_array_equal(got, want)
