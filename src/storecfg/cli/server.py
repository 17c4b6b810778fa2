"""Commands on the reference server and its database: serve, token
create|list|revoke, migrate."""

from __future__ import annotations

from collections.abc import Callable

import click

from .options import F, db_option, json_flag


def _timeout_option(name: str, default: float, help_text: str) -> Callable[[F], F]:
    """A time limit of the server, in seconds (a tenth of a second to an hour)."""
    return click.option(
        name,
        type=click.FloatRange(min=0.1, max=3600),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=help_text,
    )


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8700,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    envvar="STORECFG_RATE_LIMIT",
    help="Requests per second allowed per token ($STORECFG_RATE_LIMIT); over it the server "
    "answers 429 with Retry-After. 0 is off.",
)
@click.option("--quiet", is_flag=True, help="No access log.")
@click.option(
    "--keep-snapshots",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Keep the newest N snapshots of each store, pruning older ones as new ones are "
    "taken. Default: keep them all.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 100_000),
    default=512,
    show_default=True,
    help="Connections open at once; one more is answered 503 and closed.",
)
@_timeout_option(
    "--header-timeout",
    10.0,
    "A connection is closed when a request's headers take longer than this.",
)
@_timeout_option(
    "--body-timeout",
    60.0,
    "A request whose body takes longer than this after its headers is answered 408.",
)
def serve(
    db: str,
    host: str,
    port: int,
    rate_limit: float,
    quiet: bool,
    keep_snapshots: int | None,
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
) -> int:
    """Run the reference store server (the store API) on HOST:PORT.

    Clients need a token for their store: `storecfg token create --db FILE --store ID`.
    On PostgreSQL any number of servers may serve one database at once.
    Stops cleanly on SIGTERM or Ctrl-C.
    """
    from ..server.run import run_server
    from ..workflows.database import db_target

    run_server(
        db_target(db),
        host,
        port,
        rate_limit=rate_limit,
        access_log=not quiet,
        keep_snapshots=keep_snapshots,
        max_connections=max_connections,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
    )
    return 0


@click.group()
def token() -> None:
    """API tokens for the reference store server."""


@token.command("create")
@db_option
@click.option(
    "--store", "store_id", required=True, help="The store the token is for (created if missing)."
)
@click.option("--name", default=None, help="A note on what the token is for.")
@click.option(
    "--read-only",
    is_flag=True,
    help="Reads only (plan, drift, backup list): every write, lock and restore is 403.",
)
def token_create(db: str, store_id: str, name: str | None, read_only: bool) -> int:
    """Print a new API token for one store.

    The database keeps only a hash of the token: store it now (for example as the
    STORECFG_TOKEN secret of your CI); it cannot be shown again. A --read-only token
    suits pull-request jobs, which plan but never apply.
    """
    from ..views.server import print_new_token
    from ..workflows.database import create_token

    print_new_token(create_token(db, store_id, name, read_only=read_only))
    return 0


@click.command("migrate")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="URL",
    help="The database to copy: sqlite:///PATH (or a file path), or postgresql://...",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The database to copy into: postgresql://USER@HOST:PORT/DB (or sqlite:///PATH).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Copy into a target that already holds other stores (a store on both sides is "
    "still refused, never overwritten).",
)
@json_flag("Print the report as JSON.")
def migrate(source: str, target: str, force: bool, as_json: bool) -> int:
    """Copy a whole store database, with its history and tokens, to another database.

    For moving the reference server from SQLite to PostgreSQL: `storecfg migrate --from
    sqlite:///server.db --to postgresql://storecfg@db/stores`. Tokens move as the
    hashes they are kept as, so every token keeps working. The copy is checked before it
    is committed (row counts and content hashes of every table); on any difference
    nothing is written. Stop the servers on the source first: writes made after the
    copy started are not in it.
    """
    from ..views.output import print_json
    from ..views.server import print_copied
    from ..workflows.database import migrate as copy

    report = copy(source, target, force=force)
    if as_json:
        print_json(report.to_json())
    else:
        print_copied(report)
    return 0


@token.command("list")
@db_option
@click.option("--store", "store_id", default=None, help="Only the tokens of this store.")
@json_flag("Print as JSON.")
def token_list(db: str, store_id: str | None, as_json: bool) -> int:
    """List API tokens: ID, store, name, read-only, created, last used (never the token).

    Last use is recorded at most once a minute per token.
    """
    from ..views.output import print_json
    from ..views.server import print_tokens
    from ..workflows.database import list_tokens

    tokens = list_tokens(db, store_id)
    if as_json:
        print_json([t.to_json() for t in tokens])
    else:
        print_tokens(tokens, store_id)
    return 0


@token.command("revoke")
@db_option
@click.argument("token_id", metavar="ID")
def token_revoke(db: str, token_id: str) -> int:
    """Revoke a token by its ID (from `token list`): from now on the server answers 401."""
    from ..views.server import print_revoked
    from ..workflows.database import revoke_token

    print_revoked(revoke_token(db, token_id))
    return 0
