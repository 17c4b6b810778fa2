"""Asking before an apply: the plan, then "Enter a value:" until the user types `yes`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..escape import escape
from .plans import print_plan

if TYPE_CHECKING:
    from ..apply.plandoc import Plan


class Confirmation:
    """Shows the plan and asks for 'yes' (or, with `auto_approve`, only shows it).

    `what` names the occasion after the store (" (target us)", " (restore backup ID)").
    """

    def __init__(self, color: bool, auto_approve: bool, what: str = "") -> None:
        self.color = color
        self.auto_approve = auto_approve
        self.what = what

    def __call__(self, plan_doc: Plan) -> bool:
        from .text import brief_creates

        print_plan(plan_doc, "text", self.color, brief=brief_creates(plan_doc))
        if self.auto_approve:
            return True
        click.echo(
            f"\nDo you want to apply these changes to store {escape(plan_doc['store']['id'])}{self.what}?\n"
            "  Only 'yes' will be accepted to approve.\n"
        )
        try:
            answer = input("  Enter a value: ")
        except EOFError:
            answer = ""
        return answer.strip() == "yes"
