"""The commands' work that belongs to no one package: typed functions the CLI calls
with parsed options, which return data or raise a StorecfgError and never print.

targets.py   which stores a command works on (the definition's, or its targets')
validate.py  checking directories, per target, each problem once
plan.py      planning per target, and the plan files of a run
apply.py     what `apply TARGET` applies: a plan file or a definition directory
drift.py     drift per target
preview.py   storefront previews per target, compiled before anything is written
export.py    the live store written as a definition, and that definition checked
backups.py   the store a backup command reads, and the diff between backups
locks.py     the apply lock, shown and released
database.py  the server database: --db, tokens, copying a database
"""
