"""The schema of a store database, as the scripts that build it, one per version.

Written in the SQL that SQLite and PostgreSQL share (the PostgreSQL engine translates
the types, see postgres.py); an engine runs those its database has not run yet and
refuses a database from a newer storecfg (see engine.py). A new version is a new
script at the end: a script that shipped never changes.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE TABLE stores (
        id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL DEFAULT 0,
        settings TEXT,
        settings_revision INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE resources (
        store TEXT NOT NULL,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        spec TEXT NOT NULL,
        hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (store, kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE idempotency (
        store TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT,
        created_at REAL NOT NULL,
        PRIMARY KEY (store, key)
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_age ON idempotency (created_at);
    CREATE TABLE locks (
        store TEXT PRIMARY KEY,
        lock_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        acquired_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,
        store TEXT NOT NULL,
        name TEXT,
        created_at REAL NOT NULL
    );
    """,
    # 2: referential integrity (the index of references; filled by integrity.ensure_index),
    # the definition file each resource came from, token IDs, read-only tokens, last use
    """
    CREATE TABLE refs (
        store TEXT NOT NULL,
        from_kind TEXT NOT NULL,
        from_id TEXT NOT NULL,
        field TEXT NOT NULL,
        to_kind TEXT NOT NULL,
        to_id TEXT NOT NULL,
        PRIMARY KEY (store, from_kind, from_id, field)
    ) WITHOUT ROWID;
    CREATE INDEX refs_to ON refs (store, to_kind, to_id);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ALTER TABLE resources ADD COLUMN source TEXT;
    ALTER TABLE tokens ADD COLUMN id TEXT;
    ALTER TABLE tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tokens ADD COLUMN last_used_at REAL;
    UPDATE tokens SET id = 'tok_' || substr(hash, 1, 12);
    CREATE UNIQUE INDEX tokens_id ON tokens (id);
    """,
    # 3: history in the store: snapshots, apply records, last-applied hashes. A database
    # from before history has no record of who wrote what: the store as it is at the
    # upgrade becomes the baseline, so upgrading does not report every resource as
    # drifted. Drift is told from then on.
    """
    CREATE TABLE snapshots (
        store TEXT NOT NULL,
        id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        created_at REAL NOT NULL,
        revision INTEGER NOT NULL,
        resource_count INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        reason TEXT NOT NULL,
        apply_id TEXT,
        size INTEGER NOT NULL,
        content BLOB NOT NULL,
        PRIMARY KEY (store, id)
    );
    CREATE UNIQUE INDEX snapshots_order ON snapshots (store, seq);
    CREATE INDEX snapshots_apply ON snapshots (store, apply_id);
    CREATE TABLE applies (
        store TEXT NOT NULL,
        id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        status TEXT NOT NULL,
        plan_id TEXT,
        changes TEXT NOT NULL,
        writes_done INTEGER NOT NULL DEFAULT 0,
        writes_total INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL,
        lock_id TEXT,
        PRIMARY KEY (store, id)
    );
    CREATE UNIQUE INDEX applies_order ON applies (store, seq);
    CREATE INDEX applies_plan ON applies (store, plan_id);
    CREATE TABLE last_applied (
        store TEXT NOT NULL,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        apply_id TEXT,
        written_at REAL NOT NULL,
        deleted_revision INTEGER,
        deleted_at REAL,
        PRIMARY KEY (store, kind, id)
    ) WITHOUT ROWID;
    INSERT INTO last_applied (store, kind, id, hash, revision, apply_id, written_at)
        SELECT store, kind, id, hash, revision, NULL, updated_at FROM resources
    """,
    # 4: what storecfg last wrote to the store settings, and when the settings were last
    # written by anyone, so that settings changed outside storecfg are drift too. As in 3,
    # the settings as they are at the upgrade are the baseline: the hash, which SQL cannot
    # compute, is left empty here and filled in by history.baseline_settings.
    """
    ALTER TABLE stores ADD COLUMN settings_updated_at REAL;
    CREATE TABLE last_applied_settings (
        store TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        apply_id TEXT,
        written_at REAL NOT NULL
    );
    INSERT INTO last_applied_settings (store, hash, revision, apply_id, written_at)
        SELECT id, '', settings_revision, NULL, created_at FROM stores WHERE settings IS NOT NULL
    """,
    # 5: resources as an ordinary (rowid) table. Without a rowid SQLite keeps each row
    # in the key's b-tree, where a spec over about 1,000 bytes spills into an overflow
    # page of its own: 3.4 KiB on disk per resource of a large store instead of about 1.
    # The key stays the primary key, so every statement reads as before.
    """
    CREATE TABLE resources_v5 (
        store TEXT NOT NULL,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        spec TEXT NOT NULL,
        hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        source TEXT,
        PRIMARY KEY (store, kind, id)
    );
    INSERT INTO resources_v5 (store, kind, id, spec, hash, revision, updated_at, source)
        SELECT store, kind, id, spec, hash, revision, updated_at, source FROM resources;
    DROP TABLE resources;
    ALTER TABLE resources_v5 RENAME TO resources
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
