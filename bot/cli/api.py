"""`rapport api token create|list|revoke` and `rapport webhooks add|list|deliveries|resume|remove`.

Run by an operator with access to the server's settings, so they act as the system
(an admin); each change is still audited. A token's secret is printed once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from sqlmodel import Session

from bot.cli.common import fail
from crm import api_tokens, webhooks
from crm.actors import SYSTEM
from crm.errors import CRMError

api_app = typer.Typer(help="The REST API at /api/v1/ (docs at /api/docs).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
api_app.add_typer(token_app, name="token")
webhooks_app = typer.Typer(help="Webhooks: tell other systems about changes.", no_args_is_help=True)


@contextmanager
def _store() -> Iterator[tuple[Session, datetime]]:
    """One transaction on the configured store and the current time; a refused change
    (CRMError) exits 2 with its one-line reason; the app is closed either way."""
    from bot.cli.common import build_app, settings_or_exit

    rapport = build_app(settings_or_exit())
    try:
        with rapport.store.transaction() as session:
            yield session, rapport.services.clock.now()
    except CRMError as exc:
        fail(str(exc))
    finally:
        rapport.close()


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="what the token is for, e.g. 'website lead form'"),
    scopes: str = typer.Option("read", "--scopes", help="comma-separated: read, write, admin"),
    rep: int | None = typer.Option(None, "--rep", help="act as this rep id (owner of creations)"),
    rate: int = typer.Option(600, "--rate", help="requests a minute allowed"),
) -> None:
    """Create a token. The secret is shown once; only its hash is stored."""
    with _store() as (session, now):
        issued = api_tokens.create_token(
            session,
            actor=SYSTEM,
            name=name,
            scopes=scopes.split(","),
            now=now,
            rep_id=rep,
            rate_per_minute=rate,
        )
    typer.echo(f"Token #{issued.row.id} '{issued.row.name}' ({', '.join(issued.row.scopes)}).")
    typer.echo("Copy it now, it is not shown again:")
    typer.echo(issued.secret)


@token_app.command("list")
def token_list() -> None:
    """Tokens with their public prefix, scopes and state (never the secret)."""
    with _store() as (session, now):
        rows = api_tokens.list_tokens(session)
    if not rows:
        typer.echo("No API tokens yet. `rapport api token create NAME --scopes read,write`.")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M} UTC" if row.last_used_at else "never"
        rep = f" rep #{row.rep_id}" if row.rep_id else ""
        typer.echo(
            f"#{row.id} rp_{row.prefix}_… '{row.name}' [{','.join(row.scopes)}]{rep} "
            f"{state}, last used {used}"
        )


@token_app.command("revoke")
def token_revoke(ref: str = typer.Argument(..., help="token id or prefix")) -> None:
    with _store() as (session, now):
        row = api_tokens.revoke(session, actor=SYSTEM, ref=ref, now=now)
    typer.echo(f"Token #{row.id} '{row.name}' is revoked.")


@webhooks_app.command("add")
def webhooks_add(
    url: str = typer.Argument(..., help="where to POST events (https://...)"),
    events: str = typer.Option(
        ..., "--events", help=f"comma-separated, or *: {', '.join(webhooks.EVENT_TYPES)}"
    ),
) -> None:
    """Subscribe a URL. Prints the signing secret once."""
    with _store() as (session, now):
        row = webhooks.subscribe(
            session,
            actor=SYSTEM,
            url=url,
            events=events.split(","),
            now=now,
        )
    typer.echo(f"Webhook #{row.id} -> {row.url} for {', '.join(row.events)}.")
    typer.echo(f"Signing secret (verify Rapport-Signature with it; shown once): {row.secret}")


@webhooks_app.command("list")
def webhooks_list() -> None:
    with _store() as (session, now):
        rows = webhooks.list_subscriptions(session)
    if not rows:
        typer.echo("No webhooks. `rapport webhooks add URL --events contact.created,deal.won`.")
    for row in rows:
        state = "active" if row.active else f"PAUSED: {row.paused_reason}"
        typer.echo(f"#{row.id} {row.url} [{','.join(row.events)}] {state}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook: int | None = typer.Option(None, "--webhook", help="only this webhook id"),
    limit: int = typer.Option(20, "--limit"),
) -> None:
    """The delivery log, newest first."""
    with _store() as (session, now):
        rows = webhooks.deliveries(session, subscription_id=webhook, limit=limit)
    if not rows:
        typer.echo("No deliveries yet.")
    for delivery, event in rows:
        when = delivery.delivered_at or delivery.next_attempt_at
        detail = f" last {delivery.last_status or delivery.last_error}" if delivery.attempts else ""
        typer.echo(
            f"dlv_{delivery.id} webhook #{delivery.subscription_id} {event.event_type} "
            f"{delivery.status} after {delivery.attempts} attempt(s){detail} "
            f"({when:%Y-%m-%d %H:%M:%S} UTC)"
        )


@webhooks_app.command("resume")
def webhooks_resume(webhook: int = typer.Argument(...)) -> None:
    """Resume a paused webhook (its pending deliveries are sent again)."""
    with _store() as (session, now):
        webhooks.set_active(
            session,
            actor=SYSTEM,
            subscription_id=webhook,
            active=True,
            now=now,
        )
    typer.echo(f"Webhook #{webhook} is active again.")


@webhooks_app.command("remove")
def webhooks_remove(webhook: int = typer.Argument(...)) -> None:
    with _store() as (session, now):
        webhooks.remove(session, actor=SYSTEM, subscription_id=webhook, now=now)
    typer.echo(f"Webhook #{webhook} is removed.")
