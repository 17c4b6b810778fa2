"""The kit for a team's repository: the starter store of `storecfg init` and the JSON
Schemas of `storecfg schema` (the GitHub Action and the pre-commit hooks are files at
the root of storecfg's own repository)."""
