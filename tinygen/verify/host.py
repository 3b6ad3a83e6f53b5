"""Run generated model C on the host: compile model/ with cffi (cached) and invoke it per sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen.verify.hostbuild import build_extension, kernel_path_cflags


class HostModel:
    """A compiled model/ folder; `__call__` runs one sample (list of arrays in, list out).

    `header` is the model's header in model_dir (default <prefix>.h, else model.h).
    A stateful model (its header declares `<prefix>_reset`) starts from its initial state when the
    HostModel is made (the compiled library is shared per process, so its state is reset here);
    successive calls carry the state, and `reset()` restores it.

    kernel_path: "portable" (default) compiles the plain C branch of the SIMD kernels; "device"
    compiles the branch a Cortex-M4/M7/M33/M55 runs, its DSP instructions emulated in C
    (hostbuild.kernel_path_cflags). extra_cflags are appended after the path's flags (e.g. sanitizers).
    """

    def __init__(self, model_dir: Path, prefix: str, inputs: list, outputs: list, extra_cflags=(),
                 kernel_path: str = "portable", header: str | None = None):
        self.prefix = prefix
        self.inputs = inputs  # [(shape, dtype)]
        self.outputs = outputs
        self.kernel_path = kernel_path
        model_dir = Path(model_dir).resolve()  # the C compiler runs in a temp folder
        cdef = f"int {prefix}_invoke_io(const void *const *inputs, void *const *outputs);"
        if header is None:  # the model's header is <prefix>.h (model.h in folders of older builds)
            header = f"{prefix}.h" if (model_dir / f"{prefix}.h").is_file() else "model.h"
        self.stateful = f"void {prefix}_reset(void);" in (model_dir / header).read_text()
        if self.stateful:
            cdef += f"\nvoid {prefix}_reset(void);"
        sources = sorted(model_dir.glob("*.c"))
        cflags = kernel_path_cflags(kernel_path) + tuple(extra_cflags)
        self.ffi, self.lib = build_extension(cdef, f'#include "{header}"', sources, [model_dir],
                                             extra_cflags=cflags)
        self._fn = getattr(self.lib, f"{prefix}_invoke_io")
        self.reset()

    def reset(self) -> None:
        """Restore the model's variables to their initial values (nothing for a stateless model)."""
        if self.stateful:
            getattr(self.lib, f"{self.prefix}_reset")()

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
