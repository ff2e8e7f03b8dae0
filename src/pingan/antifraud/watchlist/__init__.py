"""The watchlist (预警名单): accounts whose payers are warned, each with its source, evidence and expiry."""
