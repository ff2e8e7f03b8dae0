"""Directives (指令) from the bureau to its stations, their answers, and the near-duplicate check."""
