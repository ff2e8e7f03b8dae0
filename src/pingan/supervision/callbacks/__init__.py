"""110 call-backs (110 回访) on a reproducible sample of closed incidents."""
