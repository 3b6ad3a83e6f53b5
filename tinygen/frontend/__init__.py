"""Frontends: turn a model file or object into tinygen's typed IR (tinygen.ir.Graph)."""
