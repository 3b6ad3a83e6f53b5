"""Shared fixtures (paths to ../shared/models), and the rule that CI never skips.

Tests are in layers: unit/ (math, IR, planner, specs), kernels/ (C kernels against NumPy references,
generated sources), e2e/ (real models against TFLM, the command line, firmware under QEMU, the
wheel), hardening/ (sanitizers, hostile models, fuzzing). The shared models every e2e suite runs are
one list, oracle.INT8_MODELS.

With CI=true a skipped test is reported as failed: everything the suite needs (../shared beside the
clone, gcc with libasan, cppcheck, arm-none-eabi-gcc with newlib, qemu-system-arm, the pinned Python
packages) is installed by `.ci/run`, so a skip there can only mean a missing piece. Elsewhere a test
may still skip when ../shared/models is absent.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
HERE = Path(__file__).resolve().parent
# helpers (oracle.py, tfconvert.py) at tests/, and the layers' modules, which import each other's plans
for _folder in (HERE, HERE / "unit", HERE / "kernels", HERE / "e2e", HERE / "hardening"):
    sys.path.insert(0, str(_folder))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not MODELS.is_dir():
        pytest.skip("../shared/models is absent")
    return MODELS


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if ON_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped on CI (CI=true), which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped while it is collected (module-level skip or importorskip)."""
    outcome = yield
    report = outcome.get_result()
    if ON_CI and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped on CI (CI=true), which counts as a failure: {reason}"
