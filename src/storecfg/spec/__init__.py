"""The domain layer: what a valid store definition is, without YAML, files or templates.

Schemas and their wording, normalization, the rules and their codes, ISO tables,
addresses and paths, YAML 1.2 scalar meanings and the `Issue` type. The compiler, the
store and the server all build on it; it imports none of them (only `model` and
`errors`).
"""
