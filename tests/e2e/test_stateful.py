"""Stateful models against TFLM: resource variables (VAR_HANDLE / READ / ASSIGN / CALL_ONCE) over sequences.

The oracle is TFLM run the way a stateful model runs: one interpreter fed the samples in order, and a
fresh interpreter for what `<name>_reset()` must give (TFLM's own reset() does not rerun the CALL_ONCE
init subgraph, so it is not the oracle for the reset value; the ring model shows the difference).

Models: microWakeWord "okay nabu" (zoo, int8 in, uint8 out, 11 ring-buffer variables) and a ring buffer
made here with TF's converter (int8 and 16x8) whose init subgraph assigns values other than zero.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygen
from oracle import tflm_interpreter, tflm_run_with
from tinygen.compiler import load_model
from tinygen.errors import TinygenError
from tinygen.frontend.tflite_parse import RESOURCE, RawModel, RawOp, RawTensor
from tinygen.frontend.tflite_resource import resolve_resources
from tinygen.ir import QuantParams

MWW = "zoo/mww__okay_nabu_v1.tflite"
CLI = [sys.executable, "-m", "tinygen.cli"]


def ring_model(mode: str) -> bytes:
    """x [1, 8] -> ring buffer v [1, 3, 8] of the last three x (a resource variable whose CALL_ONCE init
    is a ramp, not zero) -> FULLY_CONNECTED of the buffer to 4 values; int8 or 16x8."""
    import tensorflow as tf

    class Ring(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = tf.Variable(tf.constant(np.linspace(-0.9, 0.8, 24).reshape(1, 3, 8), tf.float32))
            self.w = tf.constant(np.random.default_rng(1).uniform(-1, 1, (24, 4)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
        def __call__(self, x):
            buf = tf.concat([self.v.read_value()[:, 1:, :], tf.reshape(x, [1, 1, 8])], axis=1)
            self.v.assign(buf)
            return tf.matmul(tf.reshape(buf, [1, 24]), self.w)

    m = Ring()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, 8)).astype(np.float32)] for _ in range(50))
    conv.experimental_enable_resource_variables = True
    conv._experimental_variable_quantization = True
    if mode == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16
    return conv.convert()


@pytest.fixture(scope="module")
def ring_paths(tmp_path_factory):
    d = tmp_path_factory.mktemp("ring")
    out = {}
    for mode in ("int8", "int16"):
        out[mode] = d / f"ring_{mode}.tflite"
        out[mode].write_bytes(ring_model(mode))
    return out


def tflm_sequence(path, xs) -> np.ndarray:
    """One TFLM interpreter fed every sample in order (the state carries)."""
    interp = tflm_interpreter(path)
    return np.stack([tflm_run_with(interp, [x])[0] for x in xs])


def random_inputs(dtype: str, shape: tuple, n: int, seed: int) -> np.ndarray:
    info = np.iinfo(dtype)
    xs = np.random.default_rng(seed).integers(info.min, info.max, size=(n,) + shape, endpoint=True)
    return xs.astype(dtype)


@pytest.mark.parametrize("mode", ["int8", "int16"])
def test_ring_buffer_sequence_and_reset_match_tflm(mode, ring_paths, tmp_path):
    path = ring_paths[mode]
    out = tmp_path / "ring"
    result = tinygen.compile(str(path), out, name="ring", measure_stack=False, compare_tflm_arena=False)
    assert result.plan.state_bytes == {"int8": 32 + 16, "int16": 48 + 16}[mode]  # aligned buffer + ready word
    xs = random_inputs(mode, (1, 8), 40, seed=2)
    xs[20:24] = xs[19]  # the same input four times: only the state tells the outputs apart
    want = tflm_sequence(path, xs)
    assert len({want[k].tobytes() for k in range(19, 23)}) > 1  # the model is stateful
    got = tinygen.run(out, [xs.reshape(40, 8)])[0]
    np.testing.assert_array_equal(got, want.reshape(got.shape))
    again = tinygen.run(out, [xs[:5].reshape(5, 8)])[0]  # a new run starts from the initial state
    np.testing.assert_array_equal(again, want[:5].reshape(again.shape))
    each = tinygen.run(out, [xs[:6].reshape(6, 8)], reset_each=True)[0]
    fresh = np.stack([tflm_run_with(tflm_interpreter(path), [x])[0] for x in xs[:6]])
    np.testing.assert_array_equal(each, fresh.reshape(each.shape))


def test_ring_reset_value_is_the_call_once_init_not_tflm_reset(ring_paths):
    path = ring_paths["int8"]
    g = load_model(str(path))
    (var,) = [t for t in g.tensors.values() if t.variable]
    assert len(set(var.data.ravel().tolist())) > 10  # the ramp the init subgraph assigns
    x = np.zeros((1, 8), np.int8)
    interp = tflm_interpreter(path)
    first = tflm_run_with(interp, [x])[0]
    interp.reset()  # TFLM's reset: the zero-point fill, CALL_ONCE does not run again
    assert not np.array_equal(tflm_run_with(interp, [x])[0], first)
    from tinygen.verify.testing import host_model_for

    model = host_model_for(g, name="ring")
    model([x + 5])
    model.reset()
    np.testing.assert_array_equal(model([x])[0], first)  # tinygen's reset: a fresh interpreter's state


def test_mww_sequence_of_60_then_reset_matches_tflm(models_dir, tmp_path):
    path = models_dir / MWW
    out = tmp_path / "mww"
    result = tinygen.compile(str(path), out, name="mww", measure_stack=False, compare_tflm_arena=False)
    rep = result.report
    assert rep["persistent_bytes"] == result.plan.state_bytes > 7104  # 11 ring buffers
    assert len(rep["variables"]) == 11
    xs = random_inputs("int8", (1, 1, 40), 60, seed=7)
    xs[30:45] = xs[29]  # a held frame: the outputs still move while the ring buffers fill with it
    want = tflm_sequence(path, xs)
    assert len(np.unique(want)) > 5
    got = tinygen.run(out, [xs.reshape(60, 1, 40)])[0]
    np.testing.assert_array_equal(got, want.reshape(got.shape))
    from tinygen.verify.runner import host_model, read_manifest

    model = host_model(out, read_manifest(out))
    for x in xs[:10]:
        model([x])
    model.reset()
    after = np.stack([model([x])[0] for x in xs[:20]])
    np.testing.assert_array_equal(after, want[:20].reshape(after.shape))


def test_cli_run_verify_and_report_of_a_stateful_model(models_dir, tmp_path):
    path = models_dir / MWW
    out = tmp_path / "mww"
    subprocess.run(CLI + ["build", str(path), "-o", str(out), "--name", "mww"], check=True, capture_output=True)
    xs = random_inputs("int8", (1, 40), 12, seed=3)
    np.save(tmp_path / "x.npy", xs)
    for flag, interp_per_sample in (([], False), (["--reset-each"], True)):
        y = tmp_path / "y.npy"
        subprocess.run(CLI + ["run", str(out), "--input", str(tmp_path / "x.npy"), "--output", str(y)] + flag,
                       check=True, capture_output=True)
        got = np.load(y)
        if interp_per_sample:
            want = np.stack([tflm_run_with(tflm_interpreter(path), [x.reshape(1, 1, 40)])[0] for x in xs])
        else:
            want = tflm_sequence(path, xs.reshape(12, 1, 1, 40))
        np.testing.assert_array_equal(got, want.reshape(got.shape))
    proc = subprocess.run(CLI + ["verify", str(out), "--samples", "30"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "stateful model: the samples run in order" in proc.stdout and "0 differing bytes" in proc.stdout
    assert "mww_reset() and the first 5 samples again: 0 differing bytes" in proc.stdout
    proc = subprocess.run(CLI + ["verify", str(out), "--samples", "4", "--reset-each"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--reset-each" in proc.stdout, proc.stdout + proc.stderr
    md = (out / "report.md").read_text()
    assert "| persistent state (variables, kept across invokes) |" in md and "## Persistent state" in md
    assert "void mww_reset(void);" in (out / "model" / "mww.h").read_text()


@pytest.mark.qemu
def test_stateful_firmware_under_qemu_equals_host(ring_paths, tmp_path):
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    path = ring_paths["int8"]
    out = tmp_path / "ring"
    tinygen.compile(str(path), out, board="cortex-m4", name="ring", measure_stack=False, compare_tflm_arena=False)
    xs = random_inputs("int8", (8,), 10, seed=4)
    want = tflm_sequence(path, xs.reshape(10, 1, 8))
    on_target = tinygen.run(out, [xs], target="qemu")[0]
    np.testing.assert_array_equal(on_target, want.reshape(on_target.shape))
    each = tinygen.run(out, [xs], target="qemu", reset_each=True)[0]
    np.testing.assert_array_equal(each, tinygen.run(out, [xs], reset_each=True)[0])
    assert not np.array_equal(each, on_target)


@pytest.mark.qemu
def test_mww_firmware_sequence_of_50_under_qemu_equals_tflm(models_dir, tmp_path):
    path = models_dir / MWW
    out = tmp_path / "mww"
    tinygen.compile(str(path), out, board="cortex-m4", name="mww", measure_stack=False, compare_tflm_arena=False)
    xs = random_inputs("int8", (1, 40), 50, seed=11)
    want = tflm_sequence(path, xs.reshape(50, 1, 1, 40))
    on_target = tinygen.run(out, [xs], target="qemu")[0]
    np.testing.assert_array_equal(on_target, want.reshape(on_target.shape))


# ---- the frontend's refusals, one line each ----------------------------------------------------------


def _raw(ops, init_ops, init_value_const=True) -> RawModel:
    q = QuantParams.make(0.5, 0)
    tensors = [RawTensor(0, "x", (1, 4), "int8", q), RawTensor(1, "h", (), RESOURCE),
               RawTensor(2, "r", (1, 4), "int8", q), RawTensor(3, "y", (1, 4), "int8", q)]
    init_tensors = [RawTensor(0, "h0", (), RESOURCE),
                    RawTensor(1, "c", (1, 4), "int8", q, np.ones((1, 4), np.int8) if init_value_const else None)]
    init = RawModel("m.tflite", init_tensors, init_ops, [], [])
    return RawModel("m.tflite", tensors, ops, [0], [2], [init])


def _handle(i, out, name="v"):
    return RawOp(i, "VAR_HANDLE", [], [out], {"container": "", "shared_name": name})


def test_init_subgraph_must_assign_constants():
    ops = [RawOp(0, "CALL_ONCE", [], [], {"InitSubgraphIndex": 1}), _handle(1, 1),
           RawOp(2, "READ_VARIABLE", [1], [2]), RawOp(3, "ASSIGN_VARIABLE", [1, 0], [])]
    good = _raw(list(ops), [_handle(0, 0), RawOp(1, "ASSIGN_VARIABLE", [0, 1], [])])
    resolve_resources(good)
    assert good.tensors[1].variable and good.tensors[1].data.tolist() == [[1, 1, 1, 1]]
    assert [op.opname for op in good.ops] == ["READ_VARIABLE", "ASSIGN_VARIABLE"]
    bad = _raw(list(ops), [_handle(0, 0), RawOp(1, "ASSIGN_VARIABLE", [0, 1], [])], init_value_const=False)
    with pytest.raises(TinygenError, match=r"^m.tflite: init subgraph 1, operator 1 \(ASSIGN_VARIABLE\): the "
                                           r"value 'c' is computed"):
        resolve_resources(bad)
    other = _raw(list(ops), [_handle(0, 0), RawOp(1, "ADD", [1, 1], [1])])
    with pytest.raises(TinygenError, match="may only assign constants"):
        resolve_resources(other)


def test_variable_never_assigned_and_mismatched_reads_are_refused():
    never = _raw([_handle(0, 1), RawOp(1, "READ_VARIABLE", [1], [2])], [])
    with pytest.raises(TinygenError, match="resource variable 'v' is never assigned"):
        resolve_resources(never)
    wide = _raw([_handle(0, 1), RawOp(1, "ASSIGN_VARIABLE", [1, 0], []), RawOp(2, "READ_VARIABLE", [1], [2])], [])
    wide.tensors[2] = RawTensor(2, "r", (1, 5), "int8", QuantParams.make(0.5, 0))
    with pytest.raises(TinygenError, match=r"resource variable 'v': read tensor 'r' is int8\[1, 5\]"):
        resolve_resources(wide)
    late = _raw([_handle(0, 1), RawOp(1, "ASSIGN_VARIABLE", [1, 0], []),
                 RawOp(2, "CALL_ONCE", [], [], {"InitSubgraphIndex": 1})], [])
    with pytest.raises(TinygenError, match="CALL_ONCE after a variable is read or assigned"):
        resolve_resources(late)


def test_stateful_models_clean_under_sanitizers(models_dir, ring_paths, tmp_path):
    """ASan + UBSan builds of the state copies, the reset and the ring buffers run a sequence cleanly and
    equal the ordinary builds sample by sample (the state carrying in both)."""
    from test_hardening import sanitized_run_equals_normal_builds

    mww = load_model(models_dir / MWW)
    xs = random_inputs("int8", (1, 1, 40), 30, seed=9)
    sanitized_run_equals_normal_builds(mww, tmp_path / "mww", [[x] for x in xs], "portable", "mww")
    ring = load_model(str(ring_paths["int16"]))
    xs = random_inputs("int16", (1, 8), 12, seed=9)
    sanitized_run_equals_normal_builds(ring, tmp_path / "ring", [[x] for x in xs], "portable", "ring16")


def test_variable_without_init_starts_at_tflm_zero_point_fill(models_dir):
    """A resource variable no CALL_ONCE initialises starts as TFLM's allocation leaves it (every byte the
    zero point cast to int8), which is also what TFLM's reset() leaves: okay_nabu with its CALL_ONCE
    dropped, against one TFLM interpreter reset after a first invoke."""
    from tinygen.frontend.tflite import _build
    from tinygen.frontend.tflite_fold import fold_constants
    from tinygen.frontend.tflite_parse import parse
    from tinygen.ir import validate
    from tinygen.verify.testing import host_model_for

    path = models_dir / MWW
    raw = parse(path.read_bytes(), str(path))
    fold_constants(raw)
    raw.ops = [op for op in raw.ops if op.opname != "CALL_ONCE"]
    resolve_resources(raw)
    g = _build(raw)
    validate.check(g)
    variables = [t for t in g.tensors.values() if t.variable]
    assert len(variables) == 11 and all((t.data.view(np.uint8) == 0x80).all() for t in variables)
    xs = random_inputs("int8", (1, 1, 40), 20, seed=13)
    interp = tflm_interpreter(path)
    tflm_run_with(interp, [xs[0] + 1])
    interp.reset()
    want = [tflm_run_with(interp, [x])[0] for x in xs]
    model = host_model_for(g, name="mww")
    for k, x in enumerate(xs):
        np.testing.assert_array_equal(model([x])[0].reshape(want[k].shape), want[k], err_msg=f"step {k}")
