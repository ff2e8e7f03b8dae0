"""Risk events and warning plans: a likely victim found by screening, and the plan to warn them."""
