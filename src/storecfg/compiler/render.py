"""Render the Jinja2 templates in a file's string values; problems become diagnostics.

Templates apply **per scalar**: after a file is parsed, each string value holding
``{{`` or ``{%`` is rendered on its own, so line numbers stay exact and YAML
structure cannot be injected through a variable. The sandbox they run in (what they
may touch, what they may spend) is the `sandbox` package; it is loaded only when a
definition has a template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic, SourceLocation, clipped
from ..spec.codes import severity
from ..spec.paths import json_path
from .positions import TemplateSite
from .sandbox.problem import TemplateProblem

if TYPE_CHECKING:
    from .sandbox.renderer import TemplateRenderer


def render_templates(
    sites: list[TemplateSite],
    file: str,
    renderer: Callable[[], TemplateRenderer],
    address_of: Callable[[tuple[Any, ...]], str],
    diagnostics: list[Diagnostic],
) -> list[tuple[Any, ...]]:
    """Render every template string in place; problems become diagnostics.

    Returns the paths whose template failed (their value is left as written)."""
    failed: list[tuple[Any, ...]] = []
    active: TemplateRenderer | None = None
    for site in sites:
        source = site.container[site.key]
        if not isinstance(source, str):
            continue
        if active is None:
            active = renderer()
        try:
            site.container[site.key] = active.render(source)
        except TemplateProblem as exc:
            failed.append(site.path)
            if site.literal:  # a '|' block: its text starts on the line after the '|'
                line, col = site.line + 1 + exc.line_offset, 1
            else:  # other scalars fold their lines: point at the start
                line, col = site.line, site.column
            diagnostics.append(
                Diagnostic(
                    exc.code,
                    clipped(exc.message),
                    SourceLocation(file, line, col),
                    address_of(site.path),
                    json_path(site.path),
                    severity(exc.code),
                )
            )
    return failed


def make_renderer(variables: Mapping[str, Any], currency_digits: int = 2) -> TemplateRenderer:
    """The sandbox for one compile run (Jinja2 is imported here, not before)."""
    from .sandbox.renderer import TemplateRenderer

    return TemplateRenderer(variables, currency_digits)
