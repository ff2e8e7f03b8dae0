"""Transaction screening (资金预警筛查): one rule set, a batch engine over Parquet and a streaming engine over NATS."""
