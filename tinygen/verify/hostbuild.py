"""Compile C sources into a Python extension with cffi (API mode), cached by content hash."""
from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tinygen.errors import BuildError

HOST_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]

# Which branch of the runtime's SIMD kernels a host build compiles (runtime_c/include/tg_dsp.h):
#   "portable": the plain C branch (TG_HAS_DSP 0), what Cortex-M0+/M3 builds run; the default.
#   "device":   the Cortex-M4/M7/M33/M55 branch (TG_HAS_DSP 1), every DSP instruction and inline
#               assembly block replaced by its C model (runtime_c/include/tg_dsp_emul.h), via TG_EMULATE_DSP=1.
KERNEL_PATHS = ("portable", "device")


def kernel_path_cflags(kernel_path: str = "portable") -> tuple:
    """The C compiler flags that select `kernel_path` ("portable" or "device") in a host build.

    For drivers that compile generated C themselves (sanitizer builds, the fuzzer): add these to the
    gcc/clang command line. "portable" adds nothing; "device" adds -DTG_EMULATE_DSP=1.
    """
    if kernel_path == "portable":
        return ()
    if kernel_path == "device":
        return ("-DTG_EMULATE_DSP=1",)
    raise ValueError(f"unknown kernel_path {kernel_path!r} (expected one of {', '.join(KERNEL_PATHS)})")


def cache_root() -> Path:
    root = os.environ.get("TINYGEN_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinygen"


def build_extension(cdef: str, header_code: str, sources: list, include_dirs: list,
                    extra_cflags: tuple = ()):
    """Build (or reuse) an extension exposing `cdef`; `sources` are paths to .c files.

    Returns the compiled module's (ffi, lib). The cache key covers every input byte, so an
    edited kernel or template is recompiled, and identical builds are shared.
    """
    import cffi

    h = hashlib.sha256()
    for part in (cdef, header_code, " ".join(HOST_CFLAGS), " ".join(extra_cflags), sys.version):
        h.update(part.encode())
        h.update(b"\0")
    for src in sorted(str(s) for s in sources):
        h.update(Path(src).name.encode())
        h.update(Path(src).read_bytes())
    for inc in include_dirs:
        for hdr in sorted([*Path(inc).glob("*.h"), *Path(inc).glob("*.inc")]):
            h.update(hdr.name.encode())
            h.update(hdr.read_bytes())
    key = h.hexdigest()[:24]
    modname = f"_tg_{key}"
    outdir = cache_root() / "host" / key
    found = list(outdir.glob(f"{modname}*.so")) if outdir.is_dir() else []
    if not found:
        tmp = Path(tempfile.mkdtemp(prefix="tgbuild_"))
        try:
            ffi = cffi.FFI()
            ffi.cdef(cdef)
            ffi.set_source(modname, header_code, sources=[str(s) for s in sources],
                           include_dirs=[str(i) for i in include_dirs],
                           extra_compile_args=HOST_CFLAGS + list(extra_cflags))
            try:
                so = ffi.compile(tmpdir=str(tmp), verbose=False)
            except Exception as exc:  # distutils CompileError and friends
                raise BuildError(f"host C compilation failed: {exc}") from None
            outdir.mkdir(parents=True, exist_ok=True)
            dest = outdir / Path(so).name
            shutil.copy2(so, str(dest) + ".part")
            os.replace(str(dest) + ".part", dest)
            found = [dest]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _load(modname, found[0])


_loaded: dict = {}


def _load(modname: str, path: Path):
    if modname in _loaded:
        return _loaded[modname]
    loader = importlib.machinery.ExtensionFileLoader(modname, str(path))
    spec = importlib.util.spec_from_file_location(modname, str(path), loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    _loaded[modname] = (mod.ffi, mod.lib)
    return _loaded[modname]
