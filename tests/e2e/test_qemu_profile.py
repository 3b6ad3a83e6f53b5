"""benchmarks/qemu_profile.py: the per-function instruction counts of one invoke add up to the firmware's own
SysTick count, the regions follow the DWARF inline chains, and log lines of blocks QEMU did not run are
taken back."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import tinygen
from tinygen.verify.qemu import run_once

from conftest import MODELS, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import qemu_profile  # noqa: E402

HELLO = MODELS / "tflm/hello_world/hello_world_int8.tflite"


def test_executed_takes_back_blocks_qemu_did_not_run(tmp_path):
    log = tmp_path / "exec.log"
    log.write_bytes(b"Trace 0: 0x7f00 [00800408/00001f08/00000110/ff020201] Reset_Handler\n"
                    b"Trace 0: 0x7f40 [00800408/00001f0a/00000110/ff020201] Reset_Handler\n"
                    b"cpu_io_recompile: rewound execution of TB to 00001f0a\n"
                    b"Trace 0: 0x7f80 [00800408/00001f0a/00000110/ff020201] Reset_Handler\n"
                    b"Trace 0: 0x7fc0 [00800408/00001f0c/00000110/ff020201] Reset_Handler\n"
                    b"Stopped execution of TB chain before 0x7fc0 [00001f0c] Reset_Handler\n"
                    b"Trace 0: 0x7fc0 [00800408/00001f0c/00000110/ff020201] Reset_Handler\n")
    assert qemu_profile.executed(log) == [0x1F08, 0x1F0A, 0x1F0C]
    log.write_bytes(b"Trace 0: 0x7f00 [00800408/00001f08/00000110/ff020201] Reset_Handler\n"
                    b"Stopped execution of TB chain before 0x7fc0 [00001f0c] Reset_Handler\n")
    with pytest.raises(qemu_profile.ProfileError, match="unexpected QEMU log line"):
        qemu_profile.executed(log)


@pytest.mark.skipif(not HELLO.is_file(), reason="../shared/models is absent")
def test_function_counts_add_up_to_the_firmware_count(tmp_path):
    missing = [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-nm", "arm-none-eabi-addr2line", "qemu-system-arm",
                           "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    out = tmp_path / "hw"
    tinygen.compile(str(HELLO), out, board="cortex-m4", name="hw")
    fc = "tg_fully_connected_s8"
    prof = qemu_profile.profile(out, {"fc": (fc,), "none": ("no_such_function",)})
    qemu_profile.check(prof)
    funcs = prof["by_function"]
    assert sum(funcs.values()) == prof["total"]
    assert "?" not in funcs and "tg_timer_calibrate" not in funcs and "tg_timer_now" not in funcs
    assert abs(prof["total"] - prof["firmware"]) <= prof["tolerance"] < 100
    assert 1000 < prof["total"] < 10000  # the three small FULLY_CONNECTED layers, not the calibration loop
    assert funcs["hw_invoke_io"] > 0 and funcs[fc] > 0
    # a symbol's own instructions are in its region; so are those of anything inlined into it
    assert prof["regions"]["fc"] >= funcs[fc]
    assert prof["regions"]["fc"] < prof["total"] and prof["regions"]["none"] == 0
    # the traced run is the plain firmware on its embedded input, as `tinygen bench` runs it untraced: the
    # trace changes neither the output nor the firmware's own count
    plain = run_once(out)
    assert prof["outputs"] == plain["outputs"]
    assert prof["firmware"] == round(plain["ticks"] * plain["insns_per_tick"])
