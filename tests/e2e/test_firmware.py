"""Boards, the firmware project (make for every board), QEMU runs against the host, and the bench."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.target.boards import list_boards, load_board
from tinygen.errors import BuildError, FitError, TinygenError
from tinygen.codegen.firmware import fit_check, write_firmware

from conftest import MODELS

HELLO = MODELS / "tflm/hello_world/hello_world_int8.tflite"
pytestmark = pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/models is absent")
ALL_BOARDS = ["arduino-nano-33-ble", "cortex-m0plus", "cortex-m3", "cortex-m33", "cortex-m4", "cortex-m55",
              "cortex-m7", "mps2-an385", "mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "nrf52840dk",
              "nucleo-h7a3zi-q", "nucleo-l4r5zi", "rpi-pico", "stm32f746g-disco"]
# One board per distinct QEMU machine (cortex-m0plus is the microbit's Cortex-M0).
QEMU_BOARDS = ["mps2-an385", "mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "cortex-m0plus"]



def _require(*tools: str):
    """Missing tools fail the test (CI installs them: `make sysdeps`); they never skip it."""
    def deco(fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            missing = [t for t in tools if shutil.which(t) is None]
            if missing:
                pytest.fail(f"missing tools {missing}: run `make sysdeps`")
            return fn(*args, **kwargs)
        return wrapper
    return deco


needs_toolchain = _require("arm-none-eabi-gcc", "make")
needs_qemu = _require("qemu-system-arm")


def _compile(tmp_path_factory, board: str) -> Path:
    out = tmp_path_factory.mktemp(board) / "out"
    tinygen.compile(str(HELLO), out, board=board)
    return out


def _make(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-j2", *args], cwd=out, capture_output=True, text=True, timeout=300)


# ---- boards ---------------------------------------------------------------------------------------

def test_every_board_loads():
    boards = list_boards()
    assert [b.name for b in boards] == ALL_BOARDS
    for b in boards:
        assert b.flash_size > 0 and b.ram_size > 0 and b.clock_hz > 0
        assert b.io in ("semihosting", "uart", "swo", "rtt")
        assert (b.fpu is None) == (b.float_abi == "soft")
        assert b.arch_flags[0] == f"-mcpu={b.mcpu}"
        if b.name.startswith("cortex-m") or b.name.startswith("mps"):
            assert b.qemu_machine, b.name  # generic cores name the machine that runs them
        else:
            assert b.qemu_machine is None and b.flash_command


def test_memory_maps_of_qemu_machines():
    an505, an547, an386 = load_board("mps2-an505"), load_board("mps3-an547"), load_board("cortex-m4")
    assert (an505.flash_origin, an505.ram_origin) == (0x10000000, 0x38000000)  # secure aliases
    assert (an547.flash_origin, an547.ram_origin) == (0x10000000, 0x30000000)  # ITCM, DTCM
    assert (an386.qemu_machine, an386.flash_origin, an386.ram_origin) == ("mps2-an386", 0, 0x20000000)
    assert load_board("cortex-m0plus").qemu_machine == "microbit"
    assert load_board("rpi-pico").qemu_machine is None and load_board("rpi-pico").boot2_bytes == 256


def test_unknown_board_lists_valid_names():
    with pytest.raises(TinygenError) as exc:
        load_board("cortex-m99")
    assert "cortex-m99" in str(exc.value) and "nrf52840dk" in str(exc.value)
    with pytest.raises(TinygenError):
        load_board("../boards/cortex-m4")


# ---- fit check ------------------------------------------------------------------------------------

def test_fit_check_refuses_with_numbers():
    fit_check("nrf52840dk", 200_000, 4096, 500_000)  # fits
    with pytest.raises(FitError) as exc:
        fit_check("nrf52840dk", 300_000, 4096, 2_000_000)
    msg = str(exc.value)
    assert "nrf52840dk" in msg and "304,096" in msg and "262,144" in msg and "2,000,000" in msg
    assert "1,048,576" in msg
    with pytest.raises(FitError, match="RAM needs 16,385"):
        fit_check("cortex-m0plus", 16_385 - 4096, 4096, 10)


def test_fit_check_counts_the_code_and_the_test_input(tmp_path):
    """The build's flash check uses the estimated image (weights + the kernels the model links + startup,
    I/O and the firmware's embedded test input), not a flat code allowance: with the DSP kernels and every
    layer's weights pre-extended to int16 (extend="all"; the default keeps flash under TFLM's) VWW's
    firmware overflows the 512 KB cortex-m55 board at link time by a few KB, so the build refuses it and
    writes nothing."""
    from tinygen.lower import mve

    out = tmp_path / "vww"
    too_big = r"cortex-m55.*flash needs about 5\d\d,\d{3} B \(estimated image\)"
    with mve.disabled(), pytest.raises(FitError, match=too_big):
        tinygen.compile(MODELS / "mlperf/vww/vww_96_int8.tflite", out, board="cortex-m55", extend="all")
    assert not out.exists()
    # Without the firmware (model/ only) the image loses the embedded input and fits.
    with mve.disabled():
        tinygen.compile(MODELS / "mlperf/vww/vww_96_int8.tflite", out, board="cortex-m55", firmware=False,
                        extend="all")
    # The board's Helium kernels keep the weights one byte each: the whole firmware fits.
    tinygen.compile(MODELS / "mlperf/vww/vww_96_int8.tflite", out, board="cortex-m55", force=True)


@needs_toolchain
def test_link_refuses_arena_bigger_than_ram(tmp_path_factory):
    out = _compile(tmp_path_factory, "cortex-m0plus")
    header = out / "model" / "model.h"
    text = header.read_text()
    arena = next(line for line in text.splitlines() if line.startswith("#define MODEL_ARENA_SIZE"))
    header.write_text(text.replace(arena, "#define MODEL_ARENA_SIZE 20000"))
    proc = _make(out)
    assert proc.returncode != 0 and "RAM" in proc.stderr


# ---- make for every board -------------------------------------------------------------------------

@needs_toolchain
@pytest.mark.parametrize("board", ALL_BOARDS)
def test_make_every_board(tmp_path_factory, board):
    out = _compile(tmp_path_factory, board)
    b = load_board(board)
    proc = _make(out)
    assert proc.returncode == 0, proc.stderr
    elf = out / "build" / "firmware.elf"
    assert elf.is_file() and (out / "build" / "firmware.bin").is_file()
    size = _make(out, "size")
    assert size.returncode == 0 and ".text" in size.stdout
    nm = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    vectors = int(next(line.split()[0] for line in nm.splitlines() if line.endswith("tg_vector_table")), 16)
    assert vectors == b.flash_origin + b.boot2_bytes
    dry = _make(out, "-n", "flash")
    if b.flash_command:
        assert dry.stdout.split()[0] == b.flash_command.split()[0]
    else:
        assert "has no flash command" in dry.stdout + dry.stderr


@needs_toolchain
def test_make_variables_override(tmp_path_factory):
    out = _compile(tmp_path_factory, "nrf52840dk")
    dry = _make(out, "-n", "flash", "FLASH_CMD=pyocd flash -t nrf52840 $(HEX)")
    assert "pyocd flash -t nrf52840 build/firmware.hex" in dry.stdout
    assert "-Os" in _make(out, "-n", "OPT=-Os", "IO=semihosting").stdout
    assert "tg_io_semihosting.c" in _make(out, "-n", "IO=semihosting").stdout
    nope = _make(out, "qemu")
    assert nope.returncode != 0 and "no QEMU machine" in nope.stderr


# ---- QEMU -----------------------------------------------------------------------------------------

def _sample_input(out: Path) -> np.ndarray:
    """The quantized input for x = 1.0, as (1, *sample shape)."""
    from tinygen.verify.runner import prepare_inputs, read_manifest
    return prepare_inputs(read_manifest(out), [np.array([[1.0]], np.float32)])[0]


@needs_toolchain
@needs_qemu
@pytest.mark.qemu
@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_make_qemu_prints_expected_bytes(tmp_path_factory, board):
    out = _compile(tmp_path_factory, board)
    x = _sample_input(out)
    manifest = json.loads((out / "tinygen.json").read_text())
    write_firmware(out, board, manifest, [x[0]])
    expected = tinygen.run(out, [x])[0].tobytes().hex()
    assert expected != "04"  # not the zero-input output: the embedded input is really used
    assert _make(out).returncode == 0
    proc = _make(out, "qemu")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert f"output0: {expected}\n" in log and "status: 0" in log


@needs_toolchain
@needs_qemu
@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_run_qemu_equals_host(tmp_path_factory, board):
    out = _compile(tmp_path_factory, board)
    x = np.random.default_rng(0).uniform(-3.2, 3.2, size=(40, 1)).astype(np.float32)
    host = tinygen.run(out, [x])
    target = tinygen.run(out, [x], target="qemu")
    assert len(target) == 1 and target[0].dtype == host[0].dtype and target[0].shape == host[0].shape == (40, 1)
    np.testing.assert_array_equal(target[0], host[0])
    assert len(np.unique(host[0])) > 5


@needs_toolchain
@needs_qemu
@pytest.mark.qemu
def test_bench_is_deterministic_and_calibrated(tmp_path_factory):
    from tinygen.verify.qemu import bench

    out = _compile(tmp_path_factory, "cortex-m4")
    first, second = bench(out), bench(out)
    assert first == second
    assert first["insns_per_tick"] == 40.0  # measured: mps2 SysTick at 25 MHz under -icount shift=0
    report = json.loads((out / "report.json").read_text())
    assert first["macs"] == report["macs"] == 288
    assert [(l["name"], l["op"], l["macs"]) for l in first["layers"]] == \
        [(l["name"], l["op"], l["macs"]) for l in report["layers"]]
    per_layer = sum(l["instructions"] for l in first["layers"])
    assert 1000 < first["instructions"] < 20000
    assert 0.8 * first["instructions"] < per_layer < 1.2 * first["instructions"]
    assert all(l["instructions"] > 0 for l in first["layers"])


@needs_toolchain
@needs_qemu
@pytest.mark.qemu
def test_firmware_failure_is_a_build_error(tmp_path_factory):
    from tinygen.verify.qemu import run_once

    out = _compile(tmp_path_factory, "cortex-m3")
    model_c = out / "model" / "model.c"
    model_c.write_text(model_c.read_text().replace("    return 0;\n}", "    return 7;\n}", 1))
    with pytest.raises(BuildError, match="exit 7"):
        run_once(out)


@pytest.mark.parametrize("board", ALL_BOARDS)
def test_firmware_sources_cppcheck_clean(tmp_path_factory, board):
    """The generated firmware (startup, I/O, main, linker-facing code) has no cppcheck findings on any board."""
    if shutil.which("cppcheck") is None:
        pytest.fail("cppcheck is not installed (run `make sysdeps`)")
    out = _compile(tmp_path_factory, board)
    proc = subprocess.run(["cppcheck", "--enable=warning,style,performance,portability", "--std=c99",
                           "--inline-suppr", "--error-exitcode=1", "-q", "--suppress=missingIncludeSystem",
                           "-I", str(out / "model"), str(out / "firmware")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
