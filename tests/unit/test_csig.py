"""The C signature table (read from the runtime headers) and the check of lowered calls against it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tinygen.lower import csig
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.lower.base import ConstArg, ConstArray, Literal


def test_every_kernel_entry_point_has_a_prototype():
    table = csig.signatures()
    conv = table["tg_conv2d_s8"]
    assert conv[0].name == "scratch" and conv[0].pointer and conv[-1].name == "output"
    assert conv[-1].element == "int8_t" and not conv[1].pointer
    assert table["tg_concat_s8"][-1].name == "..."


def test_lowered_calls_match_and_a_drifted_call_is_refused(models_dir):
    lowered = [lop for lop in lower(load_model(models_dir / "tflm/hello_world/hello_world_int8.tflite"))
               if lop.c_function]
    for lop in lowered:
        assert len(csig.check_call(lop)) == len(lop.args)
    lop = lowered[0]
    with pytest.raises(TinygenError, match=r"gives \d+ arguments, the kernel takes \d+"):
        csig.check_call(replace(lop, args=lop.args[:-1]))
    scalar = next(k for k, p in enumerate(csig.signature(lop.c_function)) if not p.pointer)
    with pytest.raises(TinygenError, match=r"is given a pointer"):
        csig.check_call(replace(lop, args=[*lop.args[:scalar], Literal("NULL"), *lop.args[scalar + 1:]]))
    const = next(k for k, a in enumerate(lop.args) if isinstance(a, ConstArg))
    arrays = list(lop.const_arrays)
    arrays[lop.args[const].index] = ConstArray("bad", np.zeros(4, np.int16))
    with pytest.raises(TinygenError, match=r"is given a int16_t array"):
        csig.check_call(replace(lop, const_arrays=arrays))
