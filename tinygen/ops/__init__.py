"""One spec per op kind: frontend mappings, support checks, float reference, bounds and export rules, kernels.

Each family module (conv, pool, elementwise, activation, quantize, shape, norm) registers the `OpSpec` of its
kinds on import; `spec.py` defines OpSpec and the registry the generic stages dispatch through.
"""
from tinygen.ops.spec import NotApplicable, OpSpec, all_specs, kernel_classes, spec_for

__all__ = ["NotApplicable", "OpSpec", "all_specs", "kernel_classes", "spec_for"]
