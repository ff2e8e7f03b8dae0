"""Transaction screening (资金预警筛查): one rule set, a batch run (DuckDB SQL over Parquet) and a streaming engine over NATS."""
