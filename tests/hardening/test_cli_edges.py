"""The command line as a new user meets it: --version, output folders, pipes, missing optional packages,
integer data, multi-array .npz files, several calibration inputs, board kernel paths and progress lines.
Every refusal is one line on stderr, a non-zero exit and no traceback."""
from __future__ import annotations

import importlib.util
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT.parent / "shared" / "models"
HELLO = MODELS / "tflm" / "hello_world" / "hello_world_int8.tflite"
INT32_IN = MODELS / "tflm" / "int16_ops" / "quantize" / "quantize0.tflite"  # int32 input, int16 output
HELLO_INPUT = "serving_default_dense_input:0"


def tinygen(*args, env=None, cwd=None):
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    e.pop("TINYGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=600)


def one_line_error(proc, *needles) -> str:
    assert proc.returncode not in (0, 3), (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout and "internal error" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def hello_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hello") / "hw"
    p = tinygen("build", HELLO, "-o", out)
    assert p.returncode == 0, p.stderr
    return out


# ---- --version ------------------------------------------------------------------------------------


def test_version_flag():
    from importlib import metadata

    import tinygen as tg

    p = tinygen("--version")
    assert p.returncode == 0, p.stderr
    try:
        want = metadata.version("tinygen")
    except metadata.PackageNotFoundError:
        want = tg.__version__
    assert p.stdout.strip() == f"tinygen {want}"


def test_version_falls_back_to_the_package_when_run_from_source(monkeypatch):
    from importlib import metadata

    import tinygen as tg
    from tinygen import cli

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert cli.version() == tg.__version__


# ---- output folders ---------------------------------------------------------------------------------


def test_output_that_is_a_file(tmp_path):
    f = tmp_path / "somefile"
    f.write_text("mine\n")
    one_line_error(tinygen("build", HELLO, "-o", f), "somefile", "not a folder")
    assert f.read_text() == "mine\n"
    one_line_error(tinygen("build", HELLO, "-o", f / "sub"), "somefile", "is a file")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["somefile"]  # no temp folder left behind


def test_earlier_output_is_replaced_only_with_force(tmp_path):
    out = tmp_path / "hw"
    assert tinygen("build", HELLO, "-o", out).returncode == 0
    (out / "build").mkdir()
    (out / "build" / "firmware.elf").write_bytes(b"elf")
    model_c = out / "model" / "model.c"
    model_c.write_text(model_c.read_text() + "/* my edit */\n")
    one_line_error(tinygen("build", HELLO, "-o", out), str(out.name), "--force")
    assert (out / "build" / "firmware.elf").read_bytes() == b"elf" and "my edit" in model_c.read_text()
    p = tinygen("build", HELLO, "-o", out, "--force")
    assert p.returncode == 0, p.stderr
    assert not (out / "build").exists() and "my edit" not in model_c.read_text()
    assert (out / "tinygen.json").is_file()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hw"]


def test_a_foreign_folder_is_never_replaced(tmp_path):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    for extra in ((), ("--force",)):
        one_line_error(tinygen("build", HELLO, "-o", mine, *extra), "project", "not a tinygen output folder")
    assert [x.name for x in mine.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder is fine to write into
    assert tinygen("build", HELLO, "-o", empty).returncode == 0


def test_library_keeps_replacing_by_default_and_refuses_with_force_false(tmp_path):
    from tinygen.compiler import compile_model
    from tinygen.errors import TinygenError

    out = tmp_path / "o"
    compile_model(str(HELLO), out, measure_stack=False, firmware=False)
    compile_model(str(HELLO), out, measure_stack=False, firmware=False)  # replaced: the library default
    with pytest.raises(TinygenError, match="--force"):
        compile_model(str(HELLO), out, force=False, measure_stack=False, firmware=False)


# ---- pipes and missing packages ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [("boards",), ("report", "OUT"), ("run", "OUT", "--input", "X")])
def test_reader_gone_exits_quietly(args, hello_out, tmp_path):
    """`tinygen ... | head`: the reader leaves first; exit 141 (SIGPIPE's code), nothing on stderr."""
    x = tmp_path / "x.npy"
    np.save(x, np.linspace(-1, 1, 3000, dtype=np.float32).reshape(3000, 1))
    argv = [str(hello_out) if a == "OUT" else str(x) if a == "X" else a for a in args]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "tinygen.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert err == ""


def _missing_backend() -> str:
    for name in ("jax", "torch", "openvino"):
        if importlib.util.find_spec(name) is None:
            return name
    raise AssertionError("jax, torch and openvino are all installed: no missing Keras backend to test with")


def test_missing_keras_backend(tmp_path):
    backend = _missing_backend()
    p = tinygen("build", ROOT / "examples" / "digits_cnn.keras", "-o", tmp_path / "o", "--calib",
                ROOT / "examples" / "digits_calib.npy", env={"KERAS_BACKEND": backend})
    line = one_line_error(p, f"KERAS_BACKEND={backend}", f"pip install {backend}", "unset KERAS_BACKEND")
    assert p.returncode == 1, line
    assert not (tmp_path / "o").exists()


def test_missing_optional_package_names_the_pip_package(monkeypatch):
    from tinygen import cli

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    text = cli._missing_module(ModuleNotFoundError("No module named 'tflite_micro'", name="tflite_micro"))
    assert "pip install tflite-micro" in text
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert "KERAS_BACKEND=jax" in cli._missing_module(ModuleNotFoundError("x", name="jax"))
    assert "pip install onnx" in cli._missing_module(ModuleNotFoundError("x", name="onnx.helper"))


# ---- run: integer data -------------------------------------------------------------------------------


def test_run_takes_any_integer_type_that_fits(hello_out, tmp_path):
    x8 = np.arange(-128, 128, 17, dtype=np.int8).reshape(-1, 1)
    outs = {}
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        np.save(tmp_path / "x.npy", x8.astype(dtype))
        p = tinygen("run", hello_out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
        assert p.returncode == 0, (dtype, p.stderr)
        outs[dtype] = np.load(tmp_path / "y.npy")
    assert all(np.array_equal(outs[np.int8], y) for y in outs.values())
    np.save(tmp_path / "big.npy", np.array([[5], [200]], dtype=np.int64))
    one_line_error(tinygen("run", hello_out, "--input", tmp_path / "big.npy"), HELLO_INPUT, "200", "int8")


def test_run_int32_input_takes_narrower_integers(tmp_path):
    out = tmp_path / "q"
    assert tinygen("build", INT32_IN, "-o", out).returncode == 0
    info = json.loads((out / "tinygen.json").read_text())["inputs"][0]
    assert info["dtype"] == "int32"
    x = np.arange(2 * 2 * 160 * 2, dtype=np.int32).reshape(2, 2, 160, 2) % 200
    got = []
    for dtype in (np.int32, np.uint8, np.int16):
        np.save(tmp_path / "x.npy", x.astype(dtype))
        p = tinygen("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
        assert p.returncode == 0, (dtype, p.stderr)
        got.append(np.load(tmp_path / "y.npy"))
    assert all(np.array_equal(got[0], g) for g in got) and got[0].dtype == np.int16


def test_run_output_and_data_file_mistakes(hello_out, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 1), np.float32))
    one_line_error(tinygen("run", hello_out, "--input", tmp_path / "x.npy", "--output", tmp_path / "no" / "y.npy"),
                   "--output", "y.npy", "No such file")
    (tmp_path / "d.npy").mkdir()
    one_line_error(tinygen("run", hello_out, "--input", tmp_path / "x.npy", "--output", tmp_path / "d.npy"), "d.npy")
    p = tinygen("run", hello_out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y")
    assert p.returncode == 0 and f"wrote {tmp_path / 'y.npy'}" in p.stdout, p.stderr  # the file np.save wrote
    assert np.load(tmp_path / "y.npy").shape == (2, 1)
    for name in ("notes.txt", "fake.npz"):
        (tmp_path / name).write_text("1, 2, 3\n")
        one_line_error(tinygen("run", hello_out, "--input", tmp_path / name), name, "not a .npy or .npz")


# ---- multi-array .npz ---------------------------------------------------------------------------------


def test_npz_key_and_name_select_the_array(hello_out, tmp_path):
    a = np.linspace(-1, 1, 6, dtype=np.float32).reshape(6, 1)
    b = np.linspace(1, -1, 6, dtype=np.float32).reshape(6, 1)
    np.savez(tmp_path / "two.npz", a=a, b=b)
    one_line_error(tinygen("run", hello_out, "--input", tmp_path / "two.npz"), "two.npz", "a, b", "two.npz:KEY")
    runs = {}
    for spec in ("two.npz:b", f"{HELLO_INPUT}=two.npz:b", "dense_input=two.npz:b"):
        p = tinygen("run", hello_out, "--input", spec, "--output", "y.npy", cwd=tmp_path)
        assert p.returncode == 0, (spec, p.stderr)
        runs[spec] = np.load(tmp_path / "y.npy")
    np.save(tmp_path / "b.npy", b)
    assert tinygen("run", hello_out, "--input", "b.npy", "--output", "yb.npy", cwd=tmp_path).returncode == 0
    assert all(np.array_equal(np.load(tmp_path / "yb.npy"), y) for y in runs.values())
    one_line_error(tinygen("run", hello_out, "--input", "two.npz:c", cwd=tmp_path), "two.npz", "no array 'c'")
    one_line_error(tinygen("run", hello_out, "--input", "nosuch=two.npz:a", cwd=tmp_path), "nosuch", HELLO_INPUT)


def test_npz_with_one_array_shaped_like_the_input_says_which(hello_out, tmp_path):
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(6, 1)
    np.savez(tmp_path / "d.npz", labels=np.arange(6 * 3).reshape(6, 3), samples=x)
    p = tinygen("run", hello_out, "--input", tmp_path / "d.npz", "--output", tmp_path / "y.npy")
    assert p.returncode == 0, p.stderr
    assert "using array 'samples'" in p.stderr and "tinygen: note:" in p.stderr
    np.save(tmp_path / "x.npy", x)
    assert tinygen("run", hello_out, "--input", tmp_path / "x.npy", "--output", tmp_path / "z.npy").returncode == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), np.load(tmp_path / "z.npy"))


# ---- calibration for several inputs -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory):
    import keras

    tmp = tmp_path_factory.mktemp("two")
    a = keras.Input((6,), name="left")
    b = keras.Input((4,), name="right")
    y = keras.layers.Dense(3, name="head")(keras.layers.Concatenate()([keras.layers.Dense(5, name="da")(a), b]))
    path = tmp / "two.keras"
    keras.Model([a, b], y).save(path)
    rng = np.random.default_rng(3)
    return path, rng.standard_normal((32, 6)).astype(np.float32), 2 * rng.standard_normal((32, 4)).astype(np.float32)


def _model_c(out: Path) -> str:
    return (out / "model" / "model.c").read_text()


def test_calibration_for_two_inputs_every_way(two_inputs, tmp_path):
    from tinygen.compiler import compile_model

    path, left, right = two_inputs
    fast = dict(measure_stack=False, firmware=False)
    compile_model(str(path), tmp_path / "ref", calibration=[left, right], **fast)
    want = _model_c(tmp_path / "ref")
    np.savez(tmp_path / "named.npz", right=right, left=left)  # by name, whatever the file order
    np.savez(tmp_path / "ordered.npz", left, right)  # arr_0, arr_1: input order
    np.save(tmp_path / "l.npy", left)
    np.save(tmp_path / "r.npy", right)
    ways = {"named": str(tmp_path / "named.npz"), "ordered": tmp_path / "ordered.npz",
            "dict": {"right": right, "left": left},
            "specs": [f"right={tmp_path / 'r.npy'}", f"left={tmp_path / 'l.npy'}"]}
    for way, calib in ways.items():
        res = compile_model(str(path), tmp_path / way, calibration=calib, **fast)
        assert _model_c(tmp_path / way) == want, way
        assert any("input order" in w for w in res.report["warnings"]) == (way == "ordered"), way


def test_calibration_errors_name_the_inputs(two_inputs, tmp_path):
    from tinygen.compiler import compile_model
    from tinygen.errors import TinygenError

    path, left, right = two_inputs
    np.save(tmp_path / "l.npy", left)
    np.savez(tmp_path / "three.npz", a=left, b=right, c=right)
    for calib in (str(tmp_path / "l.npy"), str(tmp_path / "three.npz"), left):
        with pytest.raises(TinygenError, match="left, right"):
            compile_model(str(path), tmp_path / "x", calibration=calib, measure_stack=False, firmware=False)
    assert not (tmp_path / "x").exists()


def test_calib_once_per_input_on_the_command_line(two_inputs, tmp_path):
    path, left, right = two_inputs
    np.save(tmp_path / "l.npy", left)
    np.save(tmp_path / "r.npy", right)
    np.savez(tmp_path / "both.npz", left=left, right=right)
    p = tinygen("build", path, "-o", "a", "--calib", "right=r.npy", "--calib", "left=l.npy", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = tinygen("build", path, "-o", "b", "--calib", "both.npz", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _model_c(tmp_path / "a") == _model_c(tmp_path / "b")
    one_line_error(tinygen("build", path, "-o", "c", "--calib", "l.npy", cwd=tmp_path), "l.npy", "left, right")
    one_line_error(tinygen("build", path, "-o", "c", "--calib", "middle=l.npy", cwd=tmp_path), "middle",
                   "left, right")


def test_calibration_path_string_in_the_python_api(tmp_path):
    import tinygen as tg

    calib = ROOT / "examples" / "digits_calib.npy"
    tg.compile(str(ROOT / "examples" / "digits_cnn.keras"), tmp_path / "s", calibration=str(calib),
               measure_stack=False, firmware=False)
    tg.compile(str(ROOT / "examples" / "digits_cnn.keras"), tmp_path / "a", calibration=np.load(calib),
               measure_stack=False, firmware=False)
    assert _model_c(tmp_path / "s") == _model_c(tmp_path / "a")


# ---- boards -----------------------------------------------------------------------------------------------


def test_boards_show_their_kernel_path():
    from tinygen.target.boards import load_board

    p = tinygen("boards")
    assert p.returncode == 0, p.stderr
    rows = {ln.split()[0]: ln for ln in p.stdout.splitlines()[1:]}
    assert "kernels" in p.stdout.splitlines()[0]
    assert rows["cortex-m0plus"].endswith("portable") and rows["cortex-m3"].endswith("portable")
    assert rows["cortex-m4"].endswith("dsp (SMLAD)") and rows["cortex-m7"].endswith("dsp (SMLAD)")
    assert "dsp (SMLAD)" in rows["cortex-m55"] and "mve (Helium)" in rows["cortex-m55"]
    m55 = load_board("cortex-m55")
    assert "Helium (MVE) kernels" in m55.description and "no MVE" not in m55.description


# ---- progress ----------------------------------------------------------------------------------------------


def _run_on_a_terminal(args, env, program=("-m", "tinygen.cli")) -> tuple:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe; (exit code, stdout, terminal text)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, *program, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=60)
    os.close(master)
    return code, out, seen.decode(errors="replace")


def test_progress_on_a_terminal_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    calib = ROOT / "examples" / "digits_calib.npy"
    args = ["build", ROOT / "examples" / "digits_cnn.keras", "-o", tmp_path / "t", "--calib", calib]
    code, out, term = _run_on_a_terminal(args, env)
    assert code == 0, term
    for step in ("tinygen: loading the model", "tinygen: calibration: samples", "tinygen: generating C"):
        assert step in term, term
    assert term.endswith("\r\x1b[K"), repr(term[-80:])  # the status line is cleared at the end
    assert "built 'digits_cnn'" in out and "\x1b" not in out
    p = subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args[:3]), tmp_path / "p", *args[4:]],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0 and p.stderr == "" and "\x1b" not in p.stdout, p.stderr  # not a terminal: quiet


def test_progress_hook_is_silent_unless_installed(monkeypatch):
    from tinygen import console

    seen = []
    console.progress("nothing listens")
    with console.progress_hook(lambda *a: seen.append(a)):
        console.progress("step", 2, 5)
    console.progress("after")
    assert seen == [("step", 2, 5)]
    assert not console.shows_progress(sys.stderr)  # pytest sets PYTEST_CURRENT_TEST


# ---- --mixed auto and RAM -----------------------------------------------------------------------------------


def test_mixed_reports_its_ram_and_keeps_to_budget_ram(tmp_path):
    """A flash budget that low-bit kernels meet with arena scratch: without --budget-ram the arena grows and
    the build says by how much; with --budget-ram at the int8 arena, schemes that need scratch are left out:
    the same 6 KB of constants then cannot be met (one line naming both budgets), 7 KB can."""
    digits, calib = ROOT / "examples" / "digits_cnn.keras", ROOT / "examples" / "digits_calib.npy"
    free = tinygen("build", digits, "-o", tmp_path / "free", "--calib", calib, "--mixed", "auto",
                   "--budget-flash", "6K")
    assert free.returncode == 0, free.stderr
    r = json.loads((tmp_path / "free" / "report.json").read_text())
    m = r["mixed"]
    grown = r["arena_bytes"] - m["int8_arena_bytes"]
    assert grown > 0 and r["weights_bytes"] <= 6 * 1024 and m["predicted_arena_bytes"] is None
    assert (f"arena {r['arena_bytes']:,} B (int8 {m['int8_arena_bytes']:,} B, +{grown:,} B)" in free.stdout), free.stdout
    md = (tmp_path / "free" / "report.md").read_text()
    assert f"arena {m['int8_arena_bytes']:,} B (+{grown:,} B with these schemes)" in md
    budget = m["int8_arena_bytes"]
    one_line_error(tinygen("build", digits, "-o", tmp_path / "x", "--calib", calib, "--mixed", "auto",
                           "--budget-flash", "6K", "--budget-ram", budget), "--budget-flash", "--budget-ram")
    kept = tinygen("build", digits, "-o", tmp_path / "kept", "--calib", calib, "--mixed", "auto",
                   "--budget-flash", "7K", "--budget-ram", budget)
    assert kept.returncode == 0, kept.stderr
    k = json.loads((tmp_path / "kept" / "report.json").read_text())
    assert k["arena_bytes"] <= budget and k["weights_bytes"] <= 7 * 1024 and k["mixed"]["budget_ram"] == budget
    assert k["mixed"]["predicted_arena_bytes"] <= budget
    assert k["weight_schemes"] != r["weight_schemes"]
    one_line_error(tinygen("build", digits, "-o", tmp_path / "x", "--calib", calib, "--mixed", "auto",
                           "--budget-flash", "4K", "--budget-ram", budget), "--budget-flash", "--budget-ram")


def test_fuzzer_progress_on_a_terminal_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    args = ["--cases", "4", "--seed", "1", "--c-rate", "0", "--out", tmp_path / "f"]
    script = ("-W", "ignore", str(ROOT / "scripts" / "fuzz.py"))
    code, out, term = _run_on_a_terminal(args, env, program=script)
    assert code == 0, out + term
    assert "tinygen: fuzz (0 crashes, 0 C findings): cases 0/4" in term and term.endswith("\r\x1b[K"), term
    assert "4 cases in" in out and "\x1b" not in out
    p = subprocess.run([sys.executable, *script, *map(str, args[:-1]), tmp_path / "g"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0 and "\x1b" not in p.stderr + p.stdout, p.stderr


def test_the_library_reports_progress_through_the_hook(tmp_path):
    """Calibration, the --mixed search and the QAT export call the hook; nothing prints from the library."""
    import importlib.util as iu

    from tinygen import console, qat
    from tinygen.compiler import compile_model

    seen = []
    with console.progress_hook(lambda task, done, total: seen.append((task, done, total))):
        compile_model(str(ROOT / "examples" / "digits_cnn.keras"), tmp_path / "m", weights="auto",
                      budget_flash=6 * 1024, calibration=str(ROOT / "examples" / "digits_calib.npy"),
                      measure_stack=False, firmware=False)
        spec = iu.spec_from_file_location("qat_fixtures", ROOT / "tests" / "e2e" / "test_qat.py")
        mod = iu.module_from_spec(spec)
        spec.loader.exec_module(mod)
        model, _ = mod.trained_qat(epochs=1)
        qat.to_graph(model)
    tasks = [t for t, _, _ in seen]
    for want in ("loading the model", "calibration: samples", "--mixed: bytes of each scheme",
                 "--mixed: error of each layer's schemes", "generating C", "writing the output folder",
                 "QAT export: reading the layers", "QAT export: activation ranges and weights"):
        assert want in tasks, (want, sorted(set(tasks)))
    counted = [(d, n) for t, d, n in seen if t == "calibration: samples"]
    assert counted[0][0] == 0 and all(0 <= d < n for d, n in counted)


def test_kernel_path_is_what_the_compiler_selects():
    """A board says 'dsp' exactly when arm-none-eabi-gcc, given its flags, defines __ARM_FEATURE_DSP (which
    selects the DSP kernels in runtime_c/include/tg_dsp.h)."""
    from tinygen.target.boards import list_boards

    for b in list_boards():
        p = subprocess.run(["arm-none-eabi-gcc", *b.arch_flags, "-dM", "-E", "-"], input="", capture_output=True,
                           text=True, check=True)
        has_dsp = "#define __ARM_FEATURE_DSP 1" in p.stdout
        assert b.kernel_path.startswith("dsp") == has_dsp, (b.name, b.kernel_path)
        # the Helium kernels (runtime_c/mve) compile their MVE code exactly under __ARM_FEATURE_MVE
        assert ("mve (Helium)" in b.kernel_path) == ("__ARM_FEATURE_MVE" in p.stdout), (b.name, b.kernel_path)
