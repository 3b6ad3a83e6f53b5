"""Run generated model C on the host: compile model/ with cffi (cached) and invoke it per sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen.verify.hostbuild import build_extension, kernel_path_cflags


class HostModel:
    """A compiled model/ folder; `__call__` runs one sample (list of arrays in, list out).

    kernel_path: "portable" (default) compiles the plain C branch of the SIMD kernels; "device"
    compiles the branch a Cortex-M4/M7/M33/M55 runs, its DSP instructions emulated in C
    (hostbuild.kernel_path_cflags). extra_cflags are appended after the path's flags (e.g. sanitizers).
    """

    def __init__(self, model_dir: Path, prefix: str, inputs: list, outputs: list, extra_cflags=(),
                 kernel_path: str = "portable"):
        self.prefix = prefix
        self.inputs = inputs  # [(shape, dtype)]
        self.outputs = outputs
        self.kernel_path = kernel_path
        model_dir = Path(model_dir).resolve()  # the C compiler runs in a temp folder
        cdef = f"int {prefix}_invoke_io(const void *const *inputs, void *const *outputs);"
        sources = sorted(model_dir.glob("*.c"))
        cflags = kernel_path_cflags(kernel_path) + tuple(extra_cflags)
        self.ffi, self.lib = build_extension(cdef, '#include "model.h"', sources, [model_dir],
                                             extra_cflags=cflags)
        self._fn = getattr(self.lib, f"{prefix}_invoke_io")

    def __call__(self, arrays: list) -> list:
        ffi = self.ffi
        keep = []
        in_ptrs = ffi.new("void *[]", max(len(self.inputs), 1))
        for i, ((shape, dtype), a) in enumerate(zip(self.inputs, arrays)):
            a = np.ascontiguousarray(np.asarray(a, dtype=dtype).reshape(shape))
            keep.append(a)
            in_ptrs[i] = ffi.cast("void *", ffi.from_buffer(a))
        outs = [np.zeros(shape, dtype=dtype) for shape, dtype in self.outputs]
        out_ptrs = ffi.new("void *[]", max(len(outs), 1))
        for i, o in enumerate(outs):
            out_ptrs[i] = ffi.cast("void *", ffi.from_buffer(o))
        status = self._fn(ffi.cast("const void *const *", in_ptrs), out_ptrs)
        if status != 0:
            from tinygen.errors import VerificationError
            raise VerificationError(f"generated model returned status {status} (failing layer index {status - 1})")
        return outs
