"""The one error a template can raise: a rule code, a message and a line."""

from __future__ import annotations


class TemplateProblem(Exception):
    """What went wrong in one template, in the user's words.

    `line_offset` counts lines from the template's first line (for errors the
    template's parser places on a later line)."""

    def __init__(self, code: str, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line_offset = line_offset
