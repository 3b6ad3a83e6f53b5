"""The device kernel path emulated on the host (runtime_c/include/tg_dsp_emul.h, kernel_path="device") against
the real thing: Cortex-M4 firmware under QEMU, byte for byte, and under ASan + UBSan.

The kernel plan is every case the fast-kernel and low-bit kernel tests use (tests/kernels/test_kernels_fast.py,
tests/kernels/test_lowbit.py), merged into one graph so that one firmware build runs them all.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.verify.hostbuild import KERNEL_PATHS, kernel_path_cflags
from tinygen.verify.runner import host_model, read_manifest, sample_shape

import test_dwmult as tdm
import test_kernels_fast as tkf
import test_lowbit as tlb
from test_hardening import _gcc, sanitized_run_equals_normal_builds
from test_kernels_conv import build

# every runtime function whose code differs between the two kernel paths (all use tg_dsp.h)
DSP_KERNELS = {"tg_conv2d_s8_fast", "tg_conv2d_s8_fast_rgb", "tg_depthwise_conv2d_s8_fast",
               "tg_fully_connected_s8_fast_x", "tg_add_s8_fast",
               "tg_conv2d_lb", "tg_depthwise_conv2d_lb", "tg_fully_connected_lb",
               "tg_depthwise_mult_s8_fast"}
# the in-place variants only appear inside whole models (their input buffer is reused): KWS has both
INPLACE_KERNELS = {"tg_inplace_conv1x1_s8_fast", "tg_inplace_depthwise_rows_s8_fast"}


def merge(graphs: list, name: str = "kernel_plan") -> ir.Graph:
    """One graph running `graphs` side by side (tensors and layers renamed g<i>_...)."""
    tensors, ops, inputs, outputs = {}, [], [], []
    for i, g in enumerate(graphs):
        def rn(t, i=i):
            return None if t is None else f"g{i}_{t}"
        for k, t in g.tensors.items():
            tensors[rn(k)] = dataclasses.replace(t, name=rn(k))
        ops += [dataclasses.replace(op, name=rn(op.name), inputs=[rn(t) for t in op.inputs],
                                    outputs=[rn(t) for t in op.outputs]) for op in g.ops]
        inputs += [rn(t) for t in g.inputs]
        outputs += [rn(t) for t in g.outputs]
    return ir.Graph(tensors, ops, inputs, outputs, name=name)


def kernel_plan() -> ir.Graph:
    graphs = [build(tkf.FAST_CASES, seed=7), build(tkf.QEMU_CASES, seed=1), build(tdm.MULT_CASES, seed=2)]
    graphs += tkf._add_graphs()
    graphs += [tlb.encoded(tlb._CASES[family], scheme) for scheme in tlb.LOWBIT for family in sorted(tlb._CASES)]
    return merge(graphs)


def plan_samples(graph: ir.Graph, seed: int = 5) -> list:
    """Samples (each a list of arrays): two random over the full int8 range, all -128, all 127."""
    rng = np.random.default_rng(seed)
    shapes = [graph.tensors[t].shape for t in graph.inputs]
    samples = [[rng.integers(-128, 128, size=s, dtype=np.int8) for s in shapes] for _ in range(2)]
    return samples + [[np.full(s, v, np.int8) for s in shapes] for v in (-128, 127)]


def batched(samples: list) -> list:
    """[sample][input] -> one (N, *sample shape) array per input (tinygen.run's layout)."""
    return [np.stack([s[k].reshape(sample_shape(s[k].shape)) for s in samples]) for k in range(len(samples[0]))]


@pytest.fixture(scope="module")
def plan() -> ir.Graph:
    return kernel_plan()


def test_kernel_plan_covers_every_dsp_kernel(plan):
    used = {lop.c_function for lop in lower(plan)}
    assert DSP_KERNELS <= used, DSP_KERNELS - used
    assert len(plan.ops) >= 60


def test_emulation_only_in_host_builds_that_ask_for_it(plan, tmp_path):
    """TG_EMULATE_DSP=1 selects the device branch (TG_HAS_DSP 1, TG_DSP_EMULATED 1); without it the host
    compiles the portable branch."""
    tinygen.compile(plan, tmp_path, board="cortex-m4")
    src = tmp_path / "model"
    assert (src / "tg_dsp_emul.h").is_file()
    (src / "probe.c").write_text('#include "tg_dsp.h"\n'
                                 "#if TG_HAS_DSP != TG_WANT || TG_DSP_EMULATED != TG_WANT\n#error wrong path\n#endif\n")
    for path, want in zip(KERNEL_PATHS, (0, 1)):
        p = subprocess.run([_gcc(), "-std=c99", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", f"-DTG_WANT={want}",
                            *kernel_path_cflags(path), "probe.c"], capture_output=True, text=True, cwd=src)
        assert p.returncode == 0, (path, p.stderr)


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_kernel_plan_under_sanitizers(plan, kernel_path, tmp_path):
    """ASan + UBSan over every case of the kernel plan, equal to the ordinary builds of both paths."""
    sanitized_run_equals_normal_builds(plan, tmp_path, plan_samples(plan), kernel_path, "kernel plan")


def _need_arm_tools():
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")


def _assert_emulated_equals_qemu(out, samples: list, what: str):
    manifest = read_manifest(out)
    xs = batched(samples)
    on_m4 = tinygen.run(out, xs, target="qemu")
    for path in KERNEL_PATHS:
        model = host_model(out, manifest, kernel_path=path)
        for i, s in enumerate(samples):
            got = model(s)
            for k, (g, q) in enumerate(zip(got, on_m4)):
                name = manifest["outputs"][k]["name"]
                assert g.tobytes() == np.ascontiguousarray(q[i]).tobytes(), \
                    f"{what}: output {name}, sample {i}: host {path} path differs from Cortex-M4 under QEMU"


@pytest.mark.qemu
def test_kernel_plan_emulated_equals_cortex_m4_under_qemu(plan, tmp_path):
    """Every fast and low-bit kernel case: the emulated device path on the host == the M4 firmware."""
    _need_arm_tools()
    out = tmp_path / "plan"
    tinygen.compile(plan, out, board="cortex-m4")
    _assert_emulated_equals_qemu(out, plan_samples(plan), "kernel plan")


@pytest.mark.qemu
def test_kws_emulated_equals_cortex_m4_under_qemu(models_dir, tmp_path):
    """A whole model with the in-place fast kernels (1x1 conv and depthwise rows)."""
    _need_arm_tools()
    graph = load_model(models_dir / "mlperf/kws/kws_ref_model.tflite")
    out = tmp_path / "kws"
    tinygen.compile(graph, out, board="cortex-m4")
    assert INPLACE_KERNELS <= {f.stem for f in (out / "model").glob("tg_*.c")}
    _assert_emulated_equals_qemu(out, plan_samples(graph, seed=9), "kws")


INSN_NAMES = ["sxtb16", "sxtb16 ror8", "sxtb16 ror16", "sxtb16 ror24", "sxtab16", "sxtab16 ror8", "sxtab16 ror16",
              "sxtab16 ror24", "sxtah", "sxtah ror8", "sxtah ror16", "sxtah ror24", "smlad", "smlabb", "smlatt",
              "smlal lo", "smlal hi", "adds lo", "adc hi", "asr reg", "asr reg 0..63", "lsl reg", "lsl reg 0..63",
              "asr #31", "pkhbt lsl16", "pkhtb asr16", "ssat #8", "bfi #8", "bfi #16", "bfi #24", "ssub8", "sel"]


@pytest.mark.qemu
def test_emulated_instructions_equal_cortex_m4_under_qemu(tmp_path):
    """tests/dsp_insn_check.c: every modelled instruction over 3256 operand triples (edge values pairwise
    and xorshift words), tg_dsp_emul.h under UBSan + ASan on the host vs the instructions on a Cortex-M4
    under QEMU: identical result words."""
    from test_hardening import SANITIZE
    from tinygen.verify import qemu
    from tinygen.target.boards import load_board
    from tinygen.paths import runtime_dir

    _need_arm_tools()
    src = Path(__file__).resolve().parents[1] / "dsp_insn_check.c"
    exe = tmp_path / "insn_host"
    p = subprocess.run([_gcc(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-Wsign-conversion",
                        *kernel_path_cflags("device"), *SANITIZE, "-I", str(runtime_dir() / "include"), str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    run = subprocess.run([str(exe), str(tmp_path / "host.bin")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "runtime error" not in run.stderr, run.stderr[-3000:]
    # a Cortex-M4 firmware project (any model) with the check as its main program
    out = tmp_path / "fw"
    tinygen.compile(build(tkf.FAST_CASES[-1:]), out, board="cortex-m4")
    (out / "firmware" / "main.c").write_text(src.read_text())
    elf = qemu.build(out)
    (tmp_path / "run").mkdir()
    dev = subprocess.run(qemu.qemu_command(load_board("cortex-m4"), elf), cwd=tmp_path / "run",
                         capture_output=True, text=True, timeout=300)
    assert dev.returncode == 0, dev.stdout[-2000:] + dev.stderr[-2000:]
    host = np.fromfile(tmp_path / "host.bin", dtype="<u4").reshape(-1, len(INSN_NAMES))
    m4 = np.fromfile(tmp_path / "run" / "insn.bin", dtype="<u4").reshape(-1, len(INSN_NAMES))
    assert host.shape == m4.shape == (16 * 16 + 3000, len(INSN_NAMES))
    bad = np.argwhere(host != m4)
    assert bad.size == 0, [f"triple {t}: {INSN_NAMES[k]} host {host[t, k]:#010x} != M4 {m4[t, k]:#010x}"
                           for t, k in bad[:10]]


def test_cppcheck_clean_on_the_emulated_device_path():
    """cppcheck with TG_EMULATE_DSP=1 on the files that differ between the paths (the generated-code
    cppcheck tests also see tg_dsp_emul.h, among the other configurations cppcheck picks)."""
    from test_hardening import CPPCHECK
    from tinygen.paths import runtime_file, runtime_include_dirs

    if shutil.which("cppcheck") is None:
        pytest.fail("cppcheck is not installed (scripts/sysdeps.sh installs it)")
    files = ["tg_dsp_emul.h", "tg_add_s8_fast.c", "tg_gemm_s8_fast_taps.c", "tg_depthwise_s8_fast_pixel.c",
             "tg_depthwise_mult_s8_fast.c", "tg_conv2d_lb.c", "tg_depthwise_conv2d_lb.c", "tg_fully_connected_lb.c"]
    incs = [arg for d in runtime_include_dirs() for arg in ("-I", str(d))]
    p = subprocess.run([*CPPCHECK, *kernel_path_cflags("device"), *incs, *(str(runtime_file(f)) for f in files)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
