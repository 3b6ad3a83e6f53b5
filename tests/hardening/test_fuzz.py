"""The mutation fuzzer reaches the C: a fixed sample through compile_model's checks, a share of the accepted
mutants compiled under ASan + UBSan and run on both kernel paths, and the .tflite reader's own sweeps.

Nothing here skips: the shared models, gcc and the sanitizer runtimes are requirements (a missing one fails).
The long run and its figures are in docs/reliability.md, section 1.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen.errors import ModelFormatError, TinygenError

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT.parent / "shared" / "models"
HELLO = MODELS / "tflm" / "hello_world" / "hello_world_int8.tflite"
SEED, CASES, C_RATE = 5, 200, 0.5  # a fixed sample: about 20 accepted mutants run in C per kernel path


def _load_fuzz():
    spec = importlib.util.spec_from_file_location("tinygen_fuzz_script", ROOT / "scripts" / "fuzz.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


fuzz = _load_fuzz()


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory) -> Path:
    """The requirements, checked (a failure, not a skip, when one is missing); returns an object cache."""
    assert MODELS.is_dir(), f"{MODELS} is missing: the fuzz corpus is the shared models"
    assert HELLO.is_file(), f"{HELLO} is missing"
    assert shutil.which("gcc"), "gcc is not installed"
    tmp = tmp_path_factory.mktemp("sanity")
    (tmp / "t.c").write_text("int main(void) { return 0; }\n")
    p = subprocess.run(["gcc", *fuzz.SANITIZE, str(tmp / "t.c"), "-o", str(tmp / "t")], capture_output=True,
                       text=True)
    assert p.returncode == 0, f"gcc cannot link with -fsanitize=address,undefined (libasan/libubsan):\n{p.stderr}"
    return ROOT / "build" / "fuzz-objs"  # content-addressed: shared with scripts/fuzz.py runs


# ---- the fixed sample ------------------------------------------------------------------------------


def test_fuzz_sample_clean_through_c_on_both_kernel_paths(toolchain, tmp_path):
    cmd = [sys.executable, "-W", "ignore", str(ROOT / "scripts" / "fuzz.py"), "--cases", str(CASES),
           "--seed", str(SEED), "--c-rate", str(C_RATE), "--obj-cache", str(toolchain), "--out", str(tmp_path),
           "--quiet"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    summary = json.loads((tmp_path / f"summary-seed{SEED}-start0.json").read_text())
    report = p.stdout[-4000:] + p.stderr[-4000:]
    assert summary["cases"] == CASES, report
    assert summary["crashes"] == 0 and summary["hangs"] == 0, report
    assert summary["relabelled"] == 0, (summary["relabels"], report)
    assert summary["c_findings"] == 0, (summary["findings"], report)
    assert summary["device_path_emulated"], "the device path does not compile the emulated DSP kernels"
    for path in ("portable", "device"):
        assert summary[f"c_run_{path}"] >= 10, (path, report)
        assert summary[f"c_clean_{path}"] == summary[f"c_run_{path}"], (path, report)
    assert summary["typed"] > 0 and summary["compiled"] > 0  # the sample exercises both outcomes
    assert p.returncode == 0, report


# ---- the C harness is not vacuous --------------------------------------------------------------------


def _hello_case():
    graph, result = fuzz.compile_checks(HELLO.read_bytes())
    return graph, result


def _plant(result, code: str):
    """The result with `code` run at the end of model_invoke_io (just before it returns 0)."""
    files = dict(result.files)
    tail = "    return 0;\n}\n\nint model_invoke("
    assert files["model.c"].count(tail) == 1
    files["model.c"] = files["model.c"].replace(tail, f"    {code}\n{tail}")
    return type("Planted", (), {"files": files})()


@pytest.mark.parametrize("code, kind", [
    ("((volatile int8_t *)outputs[0])[MODEL_OUTPUT_SIZE] = 1;", "sanitizer"),  # one byte past the output
    ("{ volatile int32_t s = 40; volatile int32_t v = 1 << s; (void)v; }", "sanitizer"),  # UBSan: shift
    ("((int8_t *)outputs[0])[0] ^= 1;", "mismatch"),  # a wrong output value
    ("return 7;", "exit"),  # a layer reporting failure
])
def test_c_harness_reports_planted_bugs_on_both_paths(toolchain, tmp_path, code, kind):
    graph, result = _hello_case()
    runner = fuzz.CRunner(toolchain)
    clean = fuzz.run_c_case(runner, graph, result, 1, 1, tmp_path / "clean")
    assert clean.pop("reference") is None
    assert {p: r for p, (r, _) in clean.items()} == {"portable": "ok", "device": "ok"}
    out = fuzz.run_c_case(runner, graph, _plant(result, code), 1, 1, tmp_path / "planted")
    assert out.pop("reference") is None and set(out) == {"portable", "device"}
    for path, (finding, stage) in out.items():
        assert finding != "ok" and finding.kind == kind, (path, finding)


def test_device_path_flags_select_the_emulated_dsp_branch(toolchain, tmp_path):
    """-dM of tg_dsp.h: the device path's flags turn on the DSP branch (emulated), the portable ones do not."""
    macros = {}
    for path, flags in fuzz.KERNEL_PATHS.items():
        p = subprocess.run(["gcc", "-E", "-dM", *flags, "-I", str(ROOT / "runtime_c" / "include"),
                            str(ROOT / "runtime_c" / "include" / "tg_dsp.h")], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        macros[path] = {ln.split()[1]: " ".join(ln.split()[2:]) for ln in p.stdout.splitlines()}
    assert macros["device"].get("TG_HAS_DSP") == "1" and macros["device"].get("TG_DSP_EMULATED") == "1"
    assert macros["portable"].get("TG_HAS_DSP") == "0"


# ---- classification: typed vs relabelled ----------------------------------------------------------------


def test_relabelled_rejections_are_told_apart():
    try:
        try:
            struct.unpack_from("<I", b"", 0)
        except struct.error as exc:
            raise ModelFormatError("x.tflite: field: malformed") from exc
    except ModelFormatError as e:
        assert isinstance(fuzz.relabelled_from(e), struct.error)
    try:
        try:
            [][1]
        except IndexError:
            raise ModelFormatError("x.tflite: field: malformed") from None  # the context still shows
    except ModelFormatError as e:
        assert isinstance(fuzz.relabelled_from(e), IndexError)
    assert fuzz.relabelled_from(ModelFormatError("x.tflite: Model.buffers[3]: ...")) is None


# ---- the .tflite reader: every truncation and every aligned word, typed errors only ---------------------


def _typed_or_loaded(buf: bytes) -> str:
    from tinygen.frontend.tflite import load_tflite

    try:
        load_tflite(buf)
    except TinygenError as e:
        origin = fuzz.relabelled_from(e)
        assert origin is None, f"relabelled {type(origin).__name__}: {e}"
        assert "\n" not in str(e)
        return type(e).__name__
    return "loaded"


def test_every_truncation_is_a_typed_error(toolchain):
    raw = HELLO.read_bytes()
    outcomes = {n: _typed_or_loaded(raw[:n]) for n in range(len(raw))}
    assert all(o == "ModelFormatError" for o in outcomes.values()), \
        {n: o for n, o in outcomes.items() if o != "ModelFormatError"}


@pytest.mark.parametrize("value", [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000, 0])
def test_every_aligned_word_overwritten_is_loaded_or_typed(toolchain, value):
    raw = bytearray(HELLO.read_bytes())
    counts: dict = {}
    for at in range(0, len(raw) - 3, 4):
        buf = bytearray(raw)
        struct.pack_into("<I", buf, at, value)
        o = _typed_or_loaded(bytes(buf))
        counts[o] = counts.get(o, 0) + 1
    assert counts.get("ModelFormatError", 0) > 0, counts  # the sweep reaches the reader's checks


def test_reader_errors_name_the_flatbuffer_field(toolchain):
    from tinygen.frontend.tflite_parse import parse

    raw = bytearray(HELLO.read_bytes())
    (root,) = struct.unpack_from("<I", raw, 0)
    struct.pack_into("<I", raw, 0, len(raw) + 100)
    with pytest.raises(ModelFormatError, match=r"root table: root offset \d+ is past the end") as e:
        parse(bytes(raw), "m.tflite")
    assert e.value.__cause__ is None and e.value.__context__ is None
    # the subgraphs vector's length set past the end of the file
    from tinygen.frontend import tflite_parse as tp

    raw = bytearray(HELLO.read_bytes())
    rd = tp._Reader(bytes(raw), tp.FieldTracker("m.tflite"))
    model = tp._Table(rd, root, "Model")
    at, n = model.vector(tp._MODEL_SUBGRAPHS, 4, "subgraphs")
    struct.pack_into("<I", raw, at - 4, 1 << 20)
    with pytest.raises(ModelFormatError, match=r"Model\.subgraphs: vector of 1048576 x 4 bytes .* runs past"):
        parse(bytes(raw), "m.tflite")


def test_fold_checks_operands_before_numpy():
    """A folded TRANSPOSE with a perm that is not a permutation is a typed error naming the operator."""
    from tinygen.frontend.tflite_fold import fold_constants
    from tinygen.frontend.tflite_parse import RawModel, RawOp, RawTensor

    x = RawTensor(0, "x", (2, 3), "int32", None, np.arange(6, dtype=np.int32).reshape(2, 3))
    perm = RawTensor(1, "perm", (2,), "int32", None, np.array([0, 0], np.int32))
    y = RawTensor(2, "y", (3, 2), "int32")
    model = RawModel("m.tflite", [x, perm, y], [RawOp(0, "TRANSPOSE", [0, 1], [2])], [], [2])
    with pytest.raises(ModelFormatError, match=r"operator 0 \(TRANSPOSE\) output 'y': perm \[0, 0\] is not a "
                                               r"permutation") as e:
        fold_constants(model)
    assert fuzz.relabelled_from(e.value) is None
    perm.data = np.array([1, 0], np.int32)
    fold_constants(model)
    assert y.data.tolist() == [[0, 3], [1, 4], [2, 5]]


def test_requant_shift_finding_stays_fixed(toolchain, tmp_path):
    """Seed 20240 case 32 (str_ww_ref_model, one weight scale set to 3.4e38) once reached C with a
    requantization shift of 128 (UBSan in tg_requantize); it must be refused, or run clean on both paths."""
    corpus = fuzz.Corpus()
    _, _, buf = fuzz.make_case(corpus, 20240, 32)
    try:
        graph, result = fuzz.compile_checks(buf)
    except TinygenError as e:
        assert fuzz.relabelled_from(e) is None
        return
    out = fuzz.run_c_case(fuzz.CRunner(toolchain), graph, result, 20240, 32, tmp_path)
    assert out.pop("reference") is None
    assert all(r == "ok" for r, _ in out.values()), {p: str(r)[:300] for p, (r, _) in out.items()}
