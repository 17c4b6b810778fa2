"""The one error boundary: every command runs through `Boundary.invoke`, which turns
a StorecfgError into its message and exit code, and anything else into a short
message (never a traceback, unless STORECFG_DEBUG asks for one).

Exit codes: what the command returned (0 when nothing), a StorecfgError's own
`exit_code` (1 unless it says otherwise), 130 on Ctrl-C, and 1 for a command-line
usage error (click's default, 2, is what `plan --detailed-exitcode` means by
"changes": a CI script must not read a mistyped option as a plan with changes).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import StorecfgError

#: exit code after Ctrl-C (128 + SIGINT), as shells report it
INTERRUPTED = 130


class Boundary(click.Group):
    """The top-level group: maps what commands raise to messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..views.diagnostics import print_error, print_failure

        try:
            return super().invoke(ctx)
        except StorecfgError as exc:
            print_error(exc)
            return exc.exit_code
        except BrokenPipeError:
            # the reader went away (`storecfg plan | head -1`): stop quietly, as other tools
            # do; what is still buffered goes nowhere instead of failing again at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        except KeyboardInterrupt:
            print_failure(
                "interrupted (Ctrl-C)",
                "Writes already sent were finished or not started; `storecfg plan` shows what "
                "is left.",
            )
            return INTERRUPTED
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:
            # the machine said no (a path that is a file, no space, no permission): name the
            # path and the reason; it is not a bug in storecfg
            print_failure(os_problem(exc))
            return 1
        except Exception as exc:  # a bug: say so plainly; STORECFG_DEBUG=1 shows the traceback
            if os.environ.get("STORECFG_DEBUG"):
                raise
            print_failure(
                f"internal error: {type(exc).__name__}: {exc}",
                "This is a bug in storecfg; rerun with STORECFG_DEBUG=1 for details and report it.",
            )
            return 1

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1 if isinstance(exc, click.UsageError) else exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def os_problem(exc: OSError) -> str:
    """`PATH: reason` for an error the operating system raised."""
    from ..errors import display_path

    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return f"cannot complete the command: {reason}"
    return f"{display_path(os.fsdecode(exc.filename))}: {reason}"
