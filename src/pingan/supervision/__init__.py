"""Supervision of law enforcement (执法全流程监督): cases, measures, the statutory-deadline rule pack."""
