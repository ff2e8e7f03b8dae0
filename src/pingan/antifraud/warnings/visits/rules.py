"""Pure decisions about home-visit tasks (上门劝阻)."""

from __future__ import annotations

from pingan.antifraud.warnings.rules import visit_deadline, visit_overdue

__all__ = ["visit_deadline", "visit_overdue"]
