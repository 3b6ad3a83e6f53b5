"""Weight schemes end to end: tinygen.compile / CLI options, mixed precision, QEMU bit-exactness."""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.errors import TinygenError
from tinygen.quant import mixed
from tinygen.quant.weights import SCHEMES

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_cnn.keras"
CALIB = ROOT / "examples" / "digits_calib.npy"


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def digits():
    sys.path.insert(0, str(ROOT / "examples"))
    from digits_data import load_digits_split

    x_tr, y_tr, x_te, y_te = load_digits_split()
    return np.load(CALIB), x_te[:150], y_te[:150]


def _output_error(result, x_float) -> float:
    """Mean squared difference of the dequantized C outputs from the float model's, on x_float."""
    from tinygen import passes
    from tinygen.quant import float_ref
    from tinygen.compiler import load_model

    out = tinygen.run(result.out_dir, x_float)[0]
    info = result.report["outputs"][0]
    deq = (out.astype(np.float64) - info["zero_point"]) * info["scale"]
    want = float_ref.run_batch(passes.optimize(load_model(str(DIGITS))), [x_float])[0]
    return float(np.mean((deq.reshape(want.shape) - want) ** 2))


# ---- the knapsack -------------------------------------------------------------------------------


def test_knapsack_matches_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(40):
        layers = [f"l{i}" for i in range(int(rng.integers(1, 5)))]
        opts = ["a", "b", "c"]
        costs = {n: {o: int(rng.integers(1, 60)) for o in opts} for n in layers}
        errors = {n: {o: float(rng.random()) for o in opts} for n in layers}
        budget = int(rng.integers(sum(min(c.values()) for c in costs.values()), 200))
        got = mixed.knapsack(costs, errors, budget, grain=1)
        assert sum(costs[n][got[n]] for n in layers) <= budget
        best = min(sum(errors[n][o] for n, o in zip(layers, combo))
                   for combo in itertools.product(opts, repeat=len(layers))
                   if sum(costs[n][o] for n, o in zip(layers, combo)) <= budget)
        assert sum(errors[n][got[n]] for n in layers) == pytest.approx(best), trial


def test_knapsack_rounds_up_so_it_always_fits():
    costs = {"a": {"x": 101, "y": 50}, "b": {"x": 99, "y": 50}}
    errors = {"a": {"x": 0.0, "y": 1.0}, "b": {"x": 0.0, "y": 1.0}}
    got = mixed.knapsack(costs, errors, 200, grain=10)  # 11 + 10 units > 20: both 'x' would not be proven
    assert sum(costs[n][got[n]] for n in got) <= 200


def test_knapsack_too_small_budget_is_one_clear_error():
    with pytest.raises(TinygenError, match="budget_flash 10 B.*needs 20 B"):
        mixed.knapsack({"a": {"x": 20}}, {"a": {"x": 0.0}}, 10)


# ---- compile API and CLI --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "int8"])
def test_every_scheme_builds_and_runs_bit_exact_under_qemu(scheme, digits, tmp_path):
    """The acceptance check per scheme: C == reference on the host and as Cortex-M4 firmware in QEMU, and
    QEMU == TFLM's interpreter on the model as tinygen quantized it (exported .tflite: low-bit filters as
    their int8 values, ternary / binary ones the kernels run as +-2^k written as such)."""
    from tflite_micro.python.tflite_micro import runtime

    from tinygen.verify import qemu
    from tinygen.verify.export_tflite import to_bytes
    from tinygen.verify.testing import run_reference

    calib, x_te, _ = digits
    res = tinygen.compile(str(DIGITS), tmp_path / "out", calibration=calib, weights=scheme, board="cortex-m4")
    assert set(res.report["weight_schemes"].values()) == {scheme}
    info = res.report["inputs"][0]
    xs = np.clip(np.round(x_te[:4] / info["scale"]) + info["zero_point"], -128, 127).astype(np.int8)
    xs = np.concatenate([xs, np.full((1,) + xs.shape[1:], -128, np.int8), np.full((1,) + xs.shape[1:], 127, np.int8)])
    want = np.stack([run_reference(res.graph, [x[None]])[0] for x in xs])
    host = tinygen.run(res.out_dir, xs)[0]
    assert np.array_equal(host.reshape(want.shape), want)
    on_qemu = qemu.run_qemu(res.out_dir, [xs])[0]
    assert np.array_equal(on_qemu.reshape(want.shape), want)
    data = to_bytes(res.graph)
    tflm = []
    for x in xs:
        interp = runtime.Interpreter.from_bytes(data, arena_size=1 << 20)
        interp.set_input(x[None], 0)
        interp.invoke()
        tflm.append(np.array(interp.get_output(0)))
    assert np.array_equal(np.stack(tflm).reshape(want.shape), want)
    if scheme in ("ternary", "binary"):  # the export scaled exactly the layers the build scaled
        from tinygen.verify.export_tflite import _weight_shift_overrides

        scaled = {lop.op.inputs[1] for lop in res.lowered if lop.weight_shift}
        assert scaled and scaled == {n for n in _weight_shift_overrides(res.graph) if n in res.graph.tensors
                                     and res.graph.tensors[n].encoding == scheme}


def test_weight_bytes_shrink_with_bits(digits, tmp_path):
    calib, _, _ = digits
    size = {}
    for s in ("int8c", "int4", "kmeans2", "ternary", "binary"):
        r = tinygen.compile(str(DIGITS), tmp_path / s, calibration=calib, weights=s, firmware=False)
        size[s] = r.report["weights_bytes"]
    assert size["binary"] < size["ternary"] <= size["kmeans2"] * 1.05 < size["int4"] < size["int8c"]


def test_per_layer_table_and_toml(digits, tmp_path):
    calib, _, _ = digits
    np.save(tmp_path / "calib.npy", calib)
    r = _cli("build", DIGITS, "-o", tmp_path / "a", "--calib", tmp_path / "calib.npy",
             "--weights", "conv2=ternary,*=int4")
    assert r.returncode == 0, r.stderr
    assert "conv1=int4, conv2=ternary" in r.stdout
    (tmp_path / "w.toml").write_text('[weights]\nconv1 = "kmeans3"\nlogits = "binary"\n')
    r = _cli("build", DIGITS, "-o", tmp_path / "b", "--calib", tmp_path / "calib.npy", "--weights", tmp_path / "w.toml")
    assert r.returncode == 0, r.stderr
    assert "conv1=kmeans3, conv2=int8, dw3=int8, logits=binary" in r.stdout
    # k-means and binary layers export as the int8 values they hold, with TFLM's multipliers: TFLM runs them
    v = _cli("verify", tmp_path / "b", "--samples", "5")
    assert v.returncode == 0 and "OK: bit-exact with TFLM and the NumPy reference" in v.stdout, v.stdout + v.stderr
    assert "0 differing bytes" in v.stdout
    assert "| conv1 | kmeans3 |" in (tmp_path / "b" / "report.md").read_text()


@pytest.mark.parametrize("args, message", [
    (("--weights", "int3"), "unknown weight scheme 'int3'"),
    (("--weights", "convX=int4"), "no layer with weights is named 'convX'"),
    (("--weights", "conv1"), "unknown weight scheme 'conv1'"),
    (("--mixed", "auto"), "--mixed auto needs --budget-flash"),
    (("--mixed", "auto", "--budget-flash", "100"), "--budget-flash 100 B"),
    (("--budget-flash", "9000"), "--budget-flash applies with --mixed auto"),
    (("--budget-ram", "100"), "--budget-ram 100 B: the arena needs 1,280 B"),
    (("--budget-flash", "12x"), "--budget-flash '12x'"),
])
def test_bad_options_are_one_line_errors(args, message, digits, tmp_path):
    calib, _, _ = digits
    np.save(tmp_path / "calib.npy", calib)
    out = tmp_path / "out"
    r = _cli("build", DIGITS, "-o", out, "--calib", tmp_path / "calib.npy", *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not out.exists()


def test_schemes_refused_for_quantized_models(tmp_path):
    from oracle import MODELS

    path = MODELS / "tflm/hello_world/hello_world_int8.tflite"
    if not path.is_file():
        pytest.skip("../shared/models is absent")
    r = _cli("build", path, "-o", tmp_path / "o", "--weights", "int4")
    assert r.returncode == 1 and "apply to float models" in r.stderr


def test_mixed_auto_fits_halfway_budget_and_beats_int4(digits, tmp_path):
    """The acceptance check: budget halfway between the int4 and int8 builds, error below uniform int4."""
    calib, x_te, _ = digits
    built = {s: tinygen.compile(str(DIGITS), tmp_path / s, calibration=calib, weights=s, firmware=False)
             for s in ("int8", "int4")}
    budget = (built["int8"].report["weights_bytes"] + built["int4"].report["weights_bytes"]) // 2
    auto = tinygen.compile(str(DIGITS), tmp_path / "auto", calibration=calib, weights="auto", budget_flash=budget,
                           firmware=False)
    assert auto.report["weights_bytes"] <= budget
    assert auto.report["mixed"]["predicted_bytes"] == auto.report["weights_bytes"]
    err = {k: _output_error(v, x_te) for k, v in {**built, "auto": auto}.items()}
    assert err["auto"] < err["int4"], err
    # and a budget too tight for int8c everywhere still forces a real mix
    tight = built["int4"].report["weights_bytes"] + 600
    mix = tinygen.compile(str(DIGITS), tmp_path / "tight", calibration=calib, weights="auto", budget_flash=tight,
                          firmware=False)
    assert mix.report["weights_bytes"] <= tight
    assert len(set(mix.report["weight_schemes"].values())) > 1
    assert _output_error(mix, x_te) < err["int4"]


def test_int16_activations_from_keras_cli(digits, tmp_path):
    """--activations int16 on a float Keras model: int16 in/out, C == reference on the host and under QEMU."""
    from tinygen.verify import qemu
    from tinygen.ir.serialize import load
    from tinygen.verify.testing import run_reference

    calib, x_te, _ = digits
    np.save(tmp_path / "calib.npy", calib)
    out = tmp_path / "o16"
    r = _cli("build", DIGITS, "-o", out, "--calib", tmp_path / "calib.npy", "--activations", "int16")
    assert r.returncode == 0, r.stderr
    assert "input_layer: int16[1, 8, 8, 1]" in r.stdout and "zero_point=0" in r.stdout
    v = _cli("verify", out, "--samples", "5")
    assert v.returncode == 0 and "OK: bit-exact with TFLM and the NumPy reference" in v.stdout, v.stdout + v.stderr
    graph = load(out / ".tinygen")
    xs = np.clip(np.round(x_te[:3] / graph.tensors[graph.inputs[0]].scale), -32768, 32767).astype(np.int16)
    want = np.stack([run_reference(graph, [x[None]])[0] for x in xs])
    assert np.array_equal(qemu.run_qemu(out, [xs])[0].reshape(want.shape), want)
    bad = _cli("build", DIGITS, "-o", tmp_path / "x", "--calib", tmp_path / "calib.npy", "--activations", "int16",
               "--weights", "int4")
    assert bad.returncode == 1 and "int4 weights need int8 activations" in bad.stderr


def test_int8c_storage_for_a_tflite_model_stays_bit_exact_with_tflm(tmp_path):
    """--weights int8c on an int8 .tflite: the same values one byte per weight; less flash, TFLM-exact."""
    from oracle import MODELS

    path = MODELS / "mlperf/kws/kws_ref_model.tflite"
    if not path.is_file():
        pytest.skip("../shared/models is absent")
    plain = tinygen.compile(str(path), tmp_path / "a", firmware=False)
    compact = tinygen.compile(str(path), tmp_path / "b", weights="int8c", firmware=False)
    assert set(compact.report["weight_schemes"].values()) == {"int8c"}
    assert compact.report["weights_bytes"] < plain.report["weights_bytes"]
    v = _cli("verify", tmp_path / "b", "--samples", "4")
    assert v.returncode == 0 and "on source model kws_ref_model.tflite: 0 differing bytes" in v.stdout, v.stdout


def test_table_keys_by_op_kind(digits, tmp_path):
    """Layer names win over op kinds, op kinds over '*'."""
    from tinygen import compiler
    from tinygen.quant import schemes

    g = compiler.load_model(str(DIGITS))
    from tinygen import passes

    g = passes.optimize(g)
    table = schemes.resolve(g, {"CONV_2D": "int4", "conv2": "binary", "*": "kmeans2"})
    assert table == {"conv1": "int4", "conv2": "binary", "dw3": "kmeans2", "logits": "kmeans2"}


def test_options_are_validated_once_and_named_by_the_caller(tmp_path):
    """The library names an option by its keyword, the command line by its flag: the same error."""
    from tinygen.options import CompileOptions, OptionError

    with pytest.raises(OptionError) as info:
        CompileOptions.make(name="9lives")
    assert str(info.value) == "name '9lives' is not a C identifier"
    assert info.value.render({"name": "--name"}) == "--name '9lives' is not a C identifier"
    with pytest.raises(OptionError, match=r"^budget_flash applies with weights='auto'$"):
        CompileOptions.make(budget_flash=100)
    with pytest.raises(OptionError, match="budget_ram 0: must be a positive number of bytes"):
        CompileOptions.make(budget_ram=0)
    with pytest.raises(TinygenError, match="unknown build option"):
        tinygen.compile(str(DIGITS), tmp_path / "o", boardd="cortex-m4")
    assert not (tmp_path / "o").exists()
    opts = CompileOptions(name="{x}")
    with pytest.raises(OptionError, match=r"name '\{x\}' is not a C identifier"):
        opts.validated()
