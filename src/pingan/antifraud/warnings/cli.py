"""`pingan warnings ...`: run the sender, the maintenance sweep, the outbox drain, and print figures."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Annotated

import typer

app = typer.Typer(help="Warning delivery (预警劝阻): SMS, voice calls, home visits.", no_args_is_help=True)


@app.command("send")
def send(
    batch_size: Annotated[int, typer.Option(help="messages claimed per batch")] = 500,
    once: Annotated[bool, typer.Option(help="send what is due now, then stop")] = False,
    sms_only: Annotated[bool, typer.Option(help="send texts only")] = False,
    voice_only: Annotated[bool, typer.Option(help="place calls only")] = False,
) -> None:
    """Send due warnings through the configured channels (PINGAN_WARNINGS_SMS_CHANNEL / _VOICE_CHANNEL)."""
    from pingan.antifraud.warnings.jobs import WarningSender, build_channels, drain_risk_outbox

    async def main() -> None:
        sms, voice = build_channels()
        sender = WarningSender(sms, voice, batch_size=batch_size)
        try:
            if once:
                await asyncio.to_thread(drain_risk_outbox)
                if not voice_only:
                    while (await sender.send_sms_batch()).claimed:
                        pass
                if not sms_only:
                    await sender.place_calls_batch()
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await sender.run(stop, sms=not voice_only, voice=not sms_only)
        finally:
            await sender.aclose()

    asyncio.run(main())


@app.command("gateway")
def gateway(
    host: Annotated[str, typer.Option(help="address to listen on (where Kannel calls back)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8010,
) -> None:
    """Serve only the delivery-report endpoint (/sms-gateway/kannel/dlr), in its own process.

    The web app serves the same endpoint; this process keeps Kannel's callbacks (two per text, in
    bursts) off the web app's and the sender's CPU. Point PINGAN_WARNINGS_CALLBACK_BASE_URL at it.
    """
    import uvicorn

    from pingan.antifraud.warnings.gateway_api import create_gateway_app

    uvicorn.run(create_gateway_app(prefix="/sms-gateway"), host=host, port=port, log_level="warning")


@app.command("maintain")
def maintain() -> None:
    """Recover messages left in flight, expire stale texts, alert on overdue home visits."""
    from pingan.antifraud.warnings.jobs import SENDER, WarningSender
    from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel

    counts = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel(), actor=SENDER).maintain()
    typer.echo(json.dumps(counts))


@app.command("drain")
def drain(limit: Annotated[int, typer.Option(help="plans per claim")] = 500) -> None:
    """Accept pending warning plans from the early-warning outbox and report back on their steps."""
    from pingan.antifraud.warnings.jobs import drain_risk_outbox

    typer.echo(json.dumps({"accepted": drain_risk_outbox(limit)}))


@app.command("figures")
def figures() -> None:
    """Print the delivery figures as JSON."""
    from pingan.antifraud.warnings.figures import compute_figures
    from pingan.core.db import transaction

    with transaction() as s:
        typer.echo(json.dumps(compute_figures(s).as_dict(), ensure_ascii=False, indent=2))
