"""Outcomes of warnings (预警成效): what happened to warned people, and the monthly 资金预警 report."""
