"""Restriction orders: stop-payments (止付) and freezes (冻结), their legal basis, findings (认定) and appeals."""
