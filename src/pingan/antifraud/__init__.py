"""Anti-fraud (反诈): reports, registry, stop-payment and freeze orders, tracing, screening, warnings."""
