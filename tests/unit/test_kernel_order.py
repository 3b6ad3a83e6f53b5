"""The kernels' priority (which lowering `choose` tries first) must not depend on which module was imported first."""
import pkgutil
import subprocess
import sys

import pytest

import tinygen.lower

_DUMP = (
    "import importlib, sys\n"
    "importlib.import_module(sys.argv[1])\n"
    "from tinygen.lower.base import _REGISTRY\n"
    "print(sorted((k.value, [type(x).__qualname__ for x in v]) for k, v in _REGISTRY.items()))\n"
)
_MODULES = sorted(m.name for m in pkgutil.iter_modules(tinygen.lower.__path__))


def _order(first: str) -> str:
    out = subprocess.run([sys.executable, "-c", _DUMP, first], capture_output=True, text=True, check=True)
    return out.stdout


@pytest.fixture(scope="module")
def canonical() -> str:
    return _order("tinygen.lower")


@pytest.mark.parametrize("name", ["fast_dw", "mve", "lowbit", "inplace", "int16_nn", "svdf"])
def test_importing_one_lowering_module_first_keeps_the_kernel_order(canonical, name):
    assert name in _MODULES
    assert _order(f"tinygen.lower.{name}") == canonical
