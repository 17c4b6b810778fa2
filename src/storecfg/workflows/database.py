"""The server database's commands' work: what --db names, API tokens, and copying a
whole database (with its history and tokens) to another."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..store.copy import CopyReport
    from ..store.records import TokenInfo
    from ..store.storage import Storage


def db_target(db: str) -> str:
    """--db as the storage takes it. A PostgreSQL URL is taken as it is; a SQLite file
    in a directory that does not exist is a typo, not a new place to create."""
    from ..store.engine import is_postgres_url

    if is_postgres_url(db):
        return db
    db = db.removeprefix("sqlite:///")
    if "://" in db:
        raise UsageError(
            f"--db {db}: give a SQLite file path or a postgresql://USER@HOST:PORT/DB URL"
        )
    path = Path(db)
    if not path.parent.is_dir():
        raise UsageError(f"--db {path}: the directory {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"--db {path}: is a directory; give a database file")
    return str(path)


def existing_db(db: str, option: str = "--db") -> Storage:
    """The Storage of a server database that must exist already (listing or revoking
    tokens never creates one)."""
    from ..store.engine import is_postgres_url
    from ..store.storage import Storage

    if not is_postgres_url(db):
        path = Path(db.removeprefix("sqlite:///"))
        if not path.is_file():
            raise UsageError(f"{option} {path}: no such database file")
    return Storage(db_target(db))


def create_token(db: str, store_id: str, name: str | None, *, read_only: bool) -> str:
    """A new API token for `store_id` (the store is created if missing); the database
    keeps only its hash."""
    from ..model import ID_PATTERN
    from ..store.storage import Storage

    if not re.fullmatch(ID_PATTERN, store_id):
        raise UsageError(
            f"invalid store ID {store_id!r}: use lowercase letters, digits, '.', '_' and '-'"
        )
    storage = Storage(db_target(db))
    try:
        return storage.create_token(store_id, name, read_only=read_only)
    finally:
        storage.close()


def list_tokens(db: str, store_id: str | None) -> list[TokenInfo]:
    storage = existing_db(db)
    try:
        return storage.list_tokens(store_id)
    finally:
        storage.close()


def revoke_token(db: str, token_id: str) -> TokenInfo:
    storage = existing_db(db)
    try:
        return storage.revoke_token(token_id)
    finally:
        storage.close()


def migrate(source: str, target: str, *, force: bool) -> CopyReport:
    """Copy the database `source` into `target`, checked before it is committed."""
    from ..store.copy import copy_database
    from ..store.storage import Storage

    src, dst = existing_db(source, "--from"), None
    try:
        dst = Storage(db_target(target))
        if src.engine.display == dst.engine.display:
            raise UsageError("--from and --to are the same database")
        return copy_database(src, dst, force=force)
    finally:
        src.close()
        if dst is not None:
            dst.close()
