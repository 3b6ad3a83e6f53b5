"""TFLM's interpreter (pip tflite-micro) with an arena that fits, and the C output it prints, captured."""
from __future__ import annotations

import os
import re
import sys
import tempfile


def capture_fd_output(fn) -> str:
    """Run fn() and return what it wrote to the process' stdout/stderr file descriptors (C printf)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            fn()
            try:
                import ctypes
                ctypes.CDLL(None).fflush(None)
            except (OSError, AttributeError):
                pass
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


_TFLM_MIN_ARENA = 64 << 10
_TFLM_MAX_ARENA = 256 << 20


def tflm_interpreter(runtime, data: bytes):
    """A TFLM interpreter for `data` with an arena big enough, or None. The pip default (10x the file
    size) is too small for models with few weights and large activations, so the arena grows (to at
    least what TFLM reports missing) until tensors allocate; TFLM's complaints are swallowed. The
    arena figures TFLM records do not depend on the arena size."""
    size = max(10 * len(data), _TFLM_MIN_ARENA)
    while size <= _TFLM_MAX_ARENA:
        made: list = []

        def create(n=size):
            try:
                made.append(runtime.Interpreter.from_bytes(data, arena_size=n))
            except Exception:  # noqa: BLE001 - TFLM raises RuntimeError on a failed allocation
                pass

        text = capture_fd_output(create)
        if made:
            return made[0]
        if not re.search(r"fail\w* to allocate|resize buffer|bytes required", text, re.IGNORECASE):
            return None  # not an arena-size failure (unsupported op, bad file, ...)
        m = re.search(r"missing: (\d+)", text)
        size = max(4 * size, 2 * (size + int(m.group(1)))) if m else 4 * size
    return None
