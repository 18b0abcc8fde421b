"""``tlab tokens``: the API tokens (the admin's credentials CLI)."""

from __future__ import annotations

from typing import Annotated

import typer

from tlab.commands import load_settings

tokens_app = typer.Typer(help="API tokens (the admin's credentials CLI).", no_args_is_help=True)


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="Who or what uses the token.")],
    role: Annotated[
        list[str],
        typer.Option(
            help="A role (repeatable): admin, operator, viewer, sanitation, cleanliness, green_spaces, police."
        ),
    ],
    expires_in_days: Annotated[int | None, typer.Option(help="Expiry; none by default.")] = None,
) -> None:
    """Issue a token and print it (the only time it is shown)."""
    from datetime import timedelta

    from core.db import connect
    from services.auth.roles import Role
    from services.auth.tokens import create_token

    try:
        roles = [Role(r) for r in role]
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; roles: {', '.join(Role)}") from exc
    with connect(load_settings().database_url) as conn:
        issued = create_token(conn, name, roles, timedelta(days=expires_in_days) if expires_in_days else None)
    typer.echo(issued.token)


@tokens_app.command("list")
def tokens_list() -> None:
    """Every token, without secrets."""
    from core.db import connect
    from services.auth.tokens import list_tokens

    with connect(load_settings().database_url) as conn:
        for t in list_tokens(conn):
            state = "revoked" if t["revoked_at"] else "active"
            typer.echo(
                f"{t['id']:>5}  {t['name']:<24} {','.join(t['roles']):<32} {state}  last used {t['last_used_at']}"
            )


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    from core.db import connect
    from services.auth.tokens import revoke_token

    with connect(load_settings().database_url) as conn:
        if not revoke_token(conn, token_id):
            raise typer.BadParameter(f"no active token {token_id}")
    typer.echo(f"revoked {token_id}")
