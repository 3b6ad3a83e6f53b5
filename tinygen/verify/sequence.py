"""Samples run in order, as TFLM runs them: what `tinygen verify` compares for stateless and stateful models.

A stateful model (variable tensors) carries its state from one sample to the next, in the C (one
instance), in the NumPy reference (one state dict) and in TFLM (one interpreter). With `reset_each`
every sample starts fresh instead: the C is reset, the reference gets a new state and TFLM a new
interpreter. After an unreset sequence the C is reset and the first samples run again: they must equal
what the fresh TFLM interpreter gave at the start.
"""
from __future__ import annotations

import numpy as np

RESET_CHECK = 5  # samples rerun after <name>_reset()


def invoke(interp, sample: list, n_out: int) -> list:
    """One invoke of a TFLM(-like) interpreter on one sample; copies of its first n_out outputs."""
    for k, x in enumerate(sample):
        d = interp.get_input_details(k)
        interp.set_input(np.asarray(x, dtype=d["dtype"]).reshape(d["shape"]), k)
    interp.invoke()
    return [np.array(interp.get_output(k)) for k in range(n_out)]


def compare_sequence(model, graph, lowered, batches: list, interp, new_interp, reset_each: bool,
                     differing) -> dict:
    """Run every sample through the C `model`, the NumPy reference and `interp` (None: not run).

    `new_interp()` makes a fresh oracle interpreter (for reset_each); `differing(c_out, other)` counts
    differing bytes. Returns dict(diff_ref, diff_tflm, reset_diff (None when not checked), stateful)."""
    from tinygen.memory.state import initial_state, variable_names
    from tinygen.verify.testing import run_reference

    stateful = bool(variable_names(graph))
    n = batches[0].shape[0]
    model.reset()
    state = initial_state(graph)
    diff_ref = diff_tflm = 0
    first: list = []
    for i in range(n):
        sample = [b[i] for b in batches]
        if reset_each and stateful and i:
            model.reset()
            state = initial_state(graph)
            interp = new_interp() if interp is not None else None
        c_out = model(sample)
        diff_ref += differing(c_out, run_reference(graph, sample, lowered=lowered, state=state))
        if interp is not None:
            t_out = invoke(interp, sample, len(c_out))
            diff_tflm += differing(c_out, t_out)
            if len(first) < RESET_CHECK:
                first.append((sample, t_out))
    reset_diff = None
    if stateful and not reset_each and first:
        model.reset()
        reset_diff = sum(differing(model(s), t) for s, t in first)
    return dict(diff_ref=diff_ref, diff_tflm=diff_tflm, reset_diff=reset_diff, stateful=stateful)


def stateful_line(seq: dict, reset_each: bool, name: str) -> str:
    """The verify summary's line on how a stateful model's samples ran."""
    if reset_each:
        return ("  stateful model, --reset-each: every sample from the initial state (C reset, NumPy state "
                "renewed, a fresh TFLM interpreter)")
    tail = ("" if seq["reset_diff"] is None else
            f"; then {name}_reset() and the first {RESET_CHECK} samples again: {seq['reset_diff']} differing bytes "
            f"from the fresh interpreter's (counted below)")
    return ("  stateful model: the samples run in order through one instance, the state carried as in one TFLM "
            "interpreter" + tail)
