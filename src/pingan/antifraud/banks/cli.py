"""`pingan bank-sim`: the bank simulator, a separate HTTP process."""

from __future__ import annotations

from typing import Annotated

import typer


def bank_sim(
    host: str = "127.0.0.1",
    port: int = 8700,
    latency_ms: Annotated[float, typer.Option(help="median answer latency")] = 50.0,
    latency_sigma: Annotated[float, typer.Option(help="log-normal spread of the latency")] = 0.5,
    result_delay_ms: Annotated[float, typer.Option(help="delay of the result callback after the ack")] = 50.0,
    error_rate: Annotated[float, typer.Option(help="share of transient 503 answers")] = 0.0,
    reject_rate: Annotated[float, typer.Option(help="share of orders rejected with a reason")] = 0.0,
    callback_loss_rate: Annotated[float, typer.Option(help="share of result callbacks dropped")] = 0.0,
    callback_url: Annotated[str | None, typer.Option(help="pingan's callback endpoint")] = None,
    down: Annotated[
        list[str] | None, typer.Option(help="downtime window BANK:AFTER_S:FOR_S (repeatable)")
    ] = None,
    seed: int | None = None,
) -> None:
    """Run the bank simulator: every bank of the directory, on its own port."""
    from pingan.antifraud.banks.sim import SimConfig, run_sim

    windows = []
    for w in down or []:
        bank, after, length = w.split(":")
        windows.append((bank.upper(), float(after), float(length)))
    config = SimConfig(
        latency_ms=latency_ms,
        latency_sigma=latency_sigma,
        result_delay_ms=result_delay_ms,
        error_rate=error_rate,
        reject_rate=reject_rate,
        callback_loss_rate=callback_loss_rate,
        callback_url=callback_url,
        seed=seed,
    )
    run_sim(config, host=host, port=port, down=windows)
