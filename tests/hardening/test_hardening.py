"""Hardening: hostile models (validate + a short fuzz run), sanitizer-clean and cppcheck-clean generated C, bounds.

The sanitizer build is a standalone C driver (no Python extension, so no LD_PRELOAD of libasan): it
reads samples from a file, runs the generated model compiled with ASan + UBSan, and writes the outputs.
Each sanitizer test runs both kernel paths (tinygen.verify.hostbuild.KERNEL_PATHS): the portable C and the
device (Cortex-M4+ SIMD) path with its instructions emulated (-DTG_EMULATE_DSP=1).
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oracle import INT8_MODELS

from tinygen import ir
from tinygen.codegen import model as codegen
from tinygen.ir import validate
from tinygen.compiler import generate, load_model
from tinygen.errors import ModelFormatError, TinygenError
from tinygen.verify.hostbuild import KERNEL_PATHS, kernel_path_cflags
from tinygen.verify.testing import host_model_for

ROOT = Path(__file__).resolve().parents[2]

SANITIZE = ("-fsanitize=address,undefined,float-cast-overflow,float-divide-by-zero", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer", "-g", "-O1")
CPPCHECK = ("cppcheck", "--enable=warning,style,performance,portability", "--std=c99", "--inline-suppr",
            "--error-exitcode=1", "-q", "--template={file}:{line}: {severity}: {message} [{id}]",
            # `x >> 31` of a negative int32 is implementation-defined, not undefined: the runtime relies on
            # arithmetic right shift, as tg_common.h states (true of GCC, Clang, armcc and IAR for Cortex-M)
            "--suppress=shiftTooManyBitsSigned:*tg_dsp.h")
N_INPUTS = 20


@pytest.fixture(scope="module")
def hello(models_dir) -> ir.Graph:
    return load_model(models_dir / INT8_MODELS["hello_world"])


# ---- validate: each hostile field is a typed error naming the field ---------------------------------


def _first(graph: ir.Graph, kind: ir.OpKind) -> ir.Op:
    return next(op for op in graph.ops if op.kind == kind)


def _set_quant(graph, name, **kw):
    t = graph.tensors[name]
    t.quant = dataclasses.replace(t.quant, **kw)


def test_shared_models_pass_validation(models_dir):
    for rel in INT8_MODELS.values():
        validate.check(load_model(models_dir / rel))


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 0.0, -0.5, 1e-300])
def test_bad_scale(hello, scale):
    g = hello.copy()
    _set_quant(g, g.inputs[0], scale=(scale,))
    with pytest.raises(ModelFormatError, match=r"scale\[0\]"):
        validate.check(g)


@pytest.mark.parametrize("zp", [128, -129, 1 << 40])
def test_zero_point_out_of_range(hello, zp):
    g = hello.copy()
    _set_quant(g, g.inputs[0], zero_point=(zp,))
    with pytest.raises(ModelFormatError, match=r"zero_point\[0\].*int8"):
        validate.check(g)


def test_per_axis_length_mismatch(hello):
    g = hello.copy()
    fc = _first(g, ir.OpKind.FULLY_CONNECTED)
    w = g.tensors[fc.inputs[1]]
    w.quant = ir.QuantParams((0.1, 0.2, 0.3), (0, 0, 0), 0)
    with pytest.raises(ModelFormatError, match="per-axis quantization has 3 scales"):
        validate.check(g)


def test_missing_activation_quant(hello):
    g = hello.copy()
    g.tensors[g.outputs[0]].quant = None
    with pytest.raises(ModelFormatError, match="no quantization parameters"):
        validate.check(g)


def test_element_count_overflow_is_caught_before_c(hello):
    g = hello.copy()
    t = g.tensors[g.inputs[0]]
    t.shape = (1 << 16, 1 << 16)  # 2^32 elements: wraps a C int32 index
    with pytest.raises(ModelFormatError, match="elements"):
        validate.check(g)
    assert validate.checked_product((1 << 16, 1 << 16)) is None
    assert validate.checked_product((3, 4, 5)) == 60


def test_cycle_is_named(hello):
    g = hello.copy()
    first, last = g.ops[0], g.ops[-1]
    first.inputs = [last.outputs[0]] + list(first.inputs[1:])
    with pytest.raises(ModelFormatError, match="cycle"):
        validate.check(g)


def test_two_producers(hello):
    g = hello.copy()
    g.ops[1].outputs = list(g.ops[0].outputs)
    with pytest.raises(ModelFormatError, match="also written by"):
        validate.check(g)


def test_constant_activation_input(hello):
    g = hello.copy()
    fc = g.ops[-1]
    fc.inputs = [fc.inputs[1]] + list(fc.inputs[1:])  # the weights as the activation (fuzz case seed 7 #129)
    with pytest.raises(TinygenError, match="is a constant"):
        validate.check(g)


def test_wrong_output_shape(hello):
    g = hello.copy()
    fc = _first(g, ir.OpKind.FULLY_CONNECTED)
    g.tensors[fc.outputs[0]].shape = (1, 3)
    with pytest.raises(ModelFormatError, match=f"layer '{fc.name}'"):
        validate.check(g)


def test_conv_semantics(models_dir):
    g = load_model(models_dir / INT8_MODELS["kws"])
    conv = _first(g, ir.OpKind.CONV_2D)
    for attrs, msg in ((dataclasses.replace(conv.attrs, stride_h=0), "stride_h"),
                       (dataclasses.replace(conv.attrs, padding=ir.Padding(-1, 0, 0, 0)), "padding.top"),
                       (dataclasses.replace(conv.attrs, stride_w=conv.attrs.stride_w * 3), "the op computes")):
        bad = g.copy()
        _first(bad, ir.OpKind.CONV_2D).attrs = attrs
        with pytest.raises(ModelFormatError, match=msg):
            validate.check(bad)
    bad = g.copy()
    w = bad.tensors[_first(bad, ir.OpKind.CONV_2D).inputs[1]]
    w.quant = dataclasses.replace(w.quant, zero_point=(1,) * len(w.quant.scale))
    with pytest.raises(ModelFormatError, match="symmetric"):
        validate.check(bad)
    bad = g.copy()
    bad.tensors[_first(bad, ir.OpKind.CONV_2D).inputs[1]].data = None
    with pytest.raises(ModelFormatError, match="neither an input, a constant nor produced"):
        validate.check(bad)


# ---- fuzzing: a short deterministic run in CI; the long run is documented in docs/reliability.md ----


def test_fuzz_short_run(models_dir, tmp_path):
    cmd = [sys.executable, "-W", "ignore", str(ROOT / "scripts" / "fuzz.py"), "--cases", "300", "--seed", "20240",
           "--out", str(tmp_path), "--quiet"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "300 cases" in p.stdout and "0 crashes" in p.stdout and "0 hangs" in p.stdout, p.stdout


def test_fuzz_mutations_are_reproducible():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fuzz
    finally:
        sys.path.pop(0)
    corpus = fuzz.Corpus()
    assert fuzz.make_case(corpus, 5, 17) == fuzz.make_case(corpus, 5, 17)
    assert fuzz.make_case(corpus, 5, 17)[2] != fuzz.make_case(corpus, 5, 18)[2]


# ---- generated C: sanitizers, cppcheck ----------------------------------------------------------------


def _driver_c(graph: ir.Graph, prefix: str) -> str:
    """A main() that loops: read every input of one sample from stdin-file, invoke, write every output."""
    ins = [graph.tensors[t].nbytes for t in graph.inputs]
    outs = [graph.tensors[t].nbytes for t in graph.outputs]
    lines = ["#include <stdio.h>", "#include <stdlib.h>", '#include "model.h"', "",
             f"static const size_t in_sizes[{len(ins)}] = {{{', '.join(map(str, ins))}}};",
             f"static const size_t out_sizes[{len(outs)}] = {{{', '.join(map(str, outs))}}};",
             "int main(int argc, char **argv)", "{",
             "    FILE *fi, *fo; size_t i; int n = 0;",
             f"    const void *in_ptrs[{len(ins)}]; void *out_ptrs[{len(outs)}];",
             "    if (argc != 3) return 64;",
             "    fi = fopen(argv[1], \"rb\"); fo = fopen(argv[2], \"wb\");",
             "    if (!fi || !fo) return 65;",
             # exact-size heap buffers: ASan catches a kernel reading or writing one byte outside them
             f"    for (i = 0; i < {len(ins)}; i++) in_ptrs[i] = malloc(in_sizes[i]);",
             f"    for (i = 0; i < {len(outs)}; i++) out_ptrs[i] = malloc(out_sizes[i]);",
             "    for (;;) {",
             f"        for (i = 0; i < {len(ins)}; i++)",
             "            if (fread((void *)in_ptrs[i], 1, in_sizes[i], fi) != in_sizes[i]) goto done;",
             f"        if ({prefix}_invoke_io(in_ptrs, out_ptrs) != 0) return 66;",
             f"        for (i = 0; i < {len(outs)}; i++) fwrite(out_ptrs[i], 1, out_sizes[i], fo);",
             "        n++;", "    }",
             "done:",
             f"    for (i = 0; i < {len(ins)}; i++) free((void *)in_ptrs[i]);",
             f"    for (i = 0; i < {len(outs)}; i++) free(out_ptrs[i]);",
             "    fclose(fi); fclose(fo);", "    return n > 0 ? 0 : 67;", "}", ""]
    return "\n".join(lines)


def _inputs(graph: ir.Graph, n: int = N_INPUTS, seed: int = 0) -> list:
    """n samples (each a list of arrays): n-2 random over the full integer range, all-min, all-max."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        sample = []
        for t in (graph.tensors[x] for x in graph.inputs):
            dt = np.dtype(t.dtype)
            lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
            if i == n - 2:
                a = np.full(t.shape, lo, dt)
            elif i == n - 1:
                a = np.full(t.shape, hi, dt)
            else:
                a = rng.integers(lo, hi + 1, size=t.shape, dtype=np.int64).astype(dt)
            sample.append(a)
        samples.append(sample)
    return samples


def _write_model(graph: ir.Graph, folder: Path, prefix: str = "model") -> Path:
    files = generate(graph, name=prefix).files
    codegen.write(files, folder)
    return folder


def _gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is not installed (scripts/sysdeps.sh installs it)")
    return gcc


def sanitized_run_equals_normal_builds(graph: ir.Graph, folder: Path, samples: list, kernel_path: str,
                                       key: str) -> None:
    """Build `graph`'s C with ASan + UBSan on `kernel_path` as a standalone driver, run `samples`, fail on
    any sanitizer report, and compare every output byte with the ordinary -O2 cffi builds of both
    kernel paths."""
    src = _write_model(graph, folder / "model")
    (src / "driver.c").write_text(_driver_c(graph, "model"))
    exe = folder / "driver"
    cmd = [_gcc(), "-std=c99", "-Wall", "-Wextra", "-Werror", *kernel_path_cflags(kernel_path), *SANITIZE,
           "-I", str(src), *sorted(str(c) for c in src.glob("*.c")), "-o", str(exe), "-lm"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 and "asan" in p.stderr.lower() and "cannot find" in p.stderr:
        pytest.fail("libasan is not installed (Debian: it comes with gcc, libasan8; scripts/sysdeps.sh)")
    assert p.returncode == 0, p.stderr[-3000:]
    (folder / "in.bin").write_bytes(b"".join(a.tobytes() for s in samples for a in s))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    run = subprocess.run([str(exe), str(folder / "in.bin"), str(folder / "out.bin")],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, \
        f"{key} ({kernel_path} path): " + run.stderr[-4000:]
    raw = (folder / "out.bin").read_bytes()
    per_sample = sum(graph.tensors[t].nbytes for t in graph.outputs)
    assert len(raw) == per_sample * len(samples)
    for path in KERNEL_PATHS:
        normal = host_model_for(graph, kernel_path=path)  # the ordinary -O2 cffi build
        for i, s in enumerate(samples):
            expected = b"".join(np.ascontiguousarray(o).tobytes() for o in normal(s))
            assert raw[i * per_sample:(i + 1) * per_sample] == expected, \
                f"{key}: sample {i} of the sanitized {kernel_path} build differs from the {path} build"


@pytest.mark.slow
@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_sanitizers_clean_and_equal_normal_build(key, kernel_path, models_dir, tmp_path):
    graph = load_model(models_dir / INT8_MODELS[key])
    sanitized_run_equals_normal_builds(graph, tmp_path, _inputs(graph), kernel_path, key)


def _elide_initializers(model_c: str) -> str:
    """model.c with each constant array's initializer list cut to `0,` (declared sizes and code kept).

    cppcheck spends minutes on the 10^5..10^6 literals of the larger models and finds nothing in them.
    """
    return re.sub(r"(\] TG_ALIGNED\(4\) = \{\n).*?(\n\};)", r"\g<1>    0,\g<2>", model_c, flags=re.S)


@pytest.mark.slow
def test_cppcheck_clean_on_generated_code(models_dir, tmp_path):
    if shutil.which("cppcheck") is None:
        pytest.fail("cppcheck is not installed (scripts/sysdeps.sh installs it)")
    findings = []
    for key, rel in sorted(INT8_MODELS.items()):
        src = _write_model(load_model(models_dir / rel), tmp_path / key)
        if key not in ("hello_world", "micro_speech"):  # the two small models are checked in full
            (src / "model.c").write_text(_elide_initializers((src / "model.c").read_text()))
        p = subprocess.run([*CPPCHECK, "-I", str(src), str(src)], capture_output=True, text=True, timeout=900)
        findings += [f"{key}: {ln}" for ln in p.stderr.splitlines() if ln.strip()]
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("body, report", [
    ("arena[k] = x;", "runtime error: index 8 out of bounds"),  # UBSan sees the array type
    ("uint8_t *p = arena + k; *p = x;", "insufficient space|AddressSanitizer: global-buffer-overflow"),
])
def test_sanitizer_driver_catches_an_overflow(tmp_path, body, report):
    """The harness is not vacuous: a one-byte overflow of the arena in 'generated' code fails the run."""
    (tmp_path / "model.h").write_text("int model_invoke_io(const void *const *i, void *const *o);\n")
    (tmp_path / "model.c").write_text(
        '#include "model.h"\n#include <stdint.h>\nstatic uint8_t arena[8];\n'
        "int model_invoke_io(const void *const *i, void *const *o)\n"
        "{ int k; uint8_t x = ((const uint8_t *)i[0])[0];\n"
        f"  for (k = 0; k <= 8; k++) {{ {body} }}\n"
        "  ((uint8_t *)o[0])[0] = arena[x & 7]; return 0; }\n")
    g = ir.Graph({"x": ir.Tensor("x", (1,), "int8"), "y": ir.Tensor("y", (1,), "int8")}, [], ["x"], ["y"])
    (tmp_path / "driver.c").write_text(_driver_c(g, "model"))
    exe = tmp_path / "d"
    subprocess.run([_gcc(), "-std=c99", *SANITIZE, str(tmp_path / "model.c"), str(tmp_path / "driver.c"),
                    "-I", str(tmp_path), "-o", str(exe)], check=True, capture_output=True)
    (tmp_path / "in.bin").write_bytes(b"\x01")
    run = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], capture_output=True,
                         text=True)
    assert run.returncode != 0 and re.search(report, run.stderr), run.stderr


# ---- accumulator bounds -----------------------------------------------------------------------------


def test_bounds_shared_models_are_safe(models_dir):
    from tinygen.lower import bounds

    for key, rel in sorted(INT8_MODELS.items()):
        report = bounds.accumulator_bounds(load_model(models_dir / rel))
        assert report, key
        unsafe = [name for name, r in report.items() if not r["safe"]]
        assert not unsafe, f"{key}: {unsafe}"
        for r in report.values():
            assert 0 <= r["max_abs_acc"] <= r["limit"]


def test_bounds_flags_an_overflowing_layer(hello):
    from tinygen.lower import bounds

    g = hello.copy()
    fc = _first(g, ir.OpKind.FULLY_CONNECTED)
    w = g.tensors[fc.inputs[1]]
    # 2^17 inputs of |x - zp| <= 255 times |w| <= 127 times ... exceed 2^31: widen the layer on paper
    big = 70_000
    x = g.tensors[fc.inputs[0]]
    x.shape = (1, big)
    w.shape = (w.shape[0], big)
    w.data = np.full(w.shape, -128, np.int8)
    g.tensors[fc.outputs[0]].shape = (1, w.shape[0])
    report = bounds.accumulator_bounds(g, layers=[fc.name])
    assert report[fc.name]["safe"] is False
    with pytest.raises(TinygenError, match=fc.name):
        bounds.check(g, layers=[fc.name])


def test_stack_usage_of_generated_code(hello, tmp_path):
    from tinygen.lower import bounds

    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed (scripts/sysdeps.sh installs it)")
    src = _write_model(hello, tmp_path / "model")
    r = bounds.stack_usage(src, entry="model_invoke_io")
    assert r["bounded"] and r["path"][0] == "model_invoke_io"
    assert 0 < r["worst_bytes"] < 4096
    assert r["worst_bytes"] == sum(r["per_function"][f] for f in r["path"] if f in r["per_function"])


def test_generated_code_is_wconversion_clean(models_dir, tmp_path):
    """-Wconversion -Wsign-conversion on every file of every shared model's generated code, both kernel
    paths: 0 warnings."""
    warnings = []
    for key, rel in sorted(INT8_MODELS.items()):
        src = _write_model(load_model(models_dir / rel), tmp_path / key)
        for c in sorted(src.glob("*.c")):
            for path in KERNEL_PATHS:
                p = subprocess.run([_gcc(), "-std=c99", "-O2", "-fsyntax-only", "-Wall", "-Wextra", "-Wconversion",
                                    "-Wsign-conversion", *kernel_path_cflags(path), c.name],
                                   capture_output=True, text=True, cwd=src)
                warnings += [f"{key} ({path}): {ln}" for ln in p.stderr.splitlines() if "warning:" in ln]
    assert not warnings, "\n".join(sorted(set(warnings)))


_HASH_SCRIPT = """
import hashlib, sys
from tinygen.compiler import generate, load_model
r = generate(load_model(sys.argv[1]), name="m")
h = hashlib.sha256()
for name, text in sorted(r.files.items()):
    h.update(name.encode() + b"\\0" + text.encode() + b"\\0")
print(h.hexdigest())
"""


def test_generation_is_deterministic_across_processes(models_dir):
    """Byte-identical sources from two interpreters with different hash seeds (set/dict order)."""
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-c", _HASH_SCRIPT, str(models_dir / INT8_MODELS["ic"])],
                           capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        digests.add(p.stdout.strip())
    assert len(digests) == 1


def _int16_fc(bias_top: int) -> ir.Graph:
    """A 16x8 FULLY_CONNECTED 'fc16' (int64 accumulator) whose channel 2 bound is 8*127*2^15 + bias_top."""
    q = ir.QuantParams.make
    w = np.full((4, 8), 127, np.int8)
    bias = np.array([0, -5, bias_top, 7], np.int64)
    tensors = {"x": ir.Tensor("x", (1, 8), "int16", q(0.01, 0)),
               "w": ir.Tensor("w", (4, 8), "int8", q(0.02, 0), w),
               "b": ir.Tensor("b", (4,), "int64", q(0.01 * 0.02, 0), bias),
               "fc16": ir.Tensor("fc16", (1, 4), "int16", q(0.5, 0))}  # a .tflite names layers so
    op = ir.Op(ir.OpKind.FULLY_CONNECTED, "fc16", ["x", "w", "b"], ["fc16"], ir.FullyConnectedAttrs())
    return ir.Graph(tensors, [op], ["x"], ["fc16"], name="fc16")


def test_bounds_int64_accumulator_limit_is_2_pow_47(tmp_path):
    from tinygen.lower import bounds
    from tinygen.compiler import compile_model
    from tinygen.verify.export_tflite import export_tflite

    terms = 8 * 127 * (1 << 15)  # |w| * max |x| over the 8 inputs
    at_limit = _int16_fc((1 << 47) - 1 - terms)
    r = bounds.check(at_limit)["fc16"]
    assert r["safe"] and r["max_abs_acc"] == r["limit"] == (1 << 47) - 1
    over = _int16_fc((1 << 47) - terms)  # |acc| may reach 2^47: far below INT64_MAX, still refused
    r = bounds.accumulator_bounds(over)["fc16"]
    assert not r["safe"] and r["max_abs_acc"] == 1 << 47 and r["worst_channel"] == 2
    with pytest.raises(TinygenError, match=r"layer 'fc16'.*2\^47") as exc:
        bounds.check(over)
    assert "\n" not in str(exc.value)
    # the compiler refuses it too, before generating any C
    model = export_tflite(over, tmp_path / "over.tflite")
    with pytest.raises(TinygenError, match="layer 'fc16'") as exc:
        compile_model(model, tmp_path / "out", firmware=False, check_fit=False)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "out").exists()
