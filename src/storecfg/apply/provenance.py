"""Where an apply comes from: git commit and branch of the definition, who ran it on
which machine with which storecfg, and the CI run when one is known.

Recorded with every apply in the store (the apply record's `source`), so a later
reader can tell which pull request, pipeline or laptop changed the store. Nothing here
may carry a secret: no remote URLs (they can hold credentials), and the API token is
taken out of every value.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from .. import __version__

GIT_TIMEOUT = 5.0


def ci_run_url(env: dict[str, str] | None = None) -> str | None:
    """The URL of the CI run, from the variables GitHub Actions and GitLab CI set."""
    env = dict(os.environ) if env is None else env
    server, repo, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if server and repo and run:
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    return env.get("CI_JOB_URL") or None


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_info(directory: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """git_commit, git_branch and git_dirty of the work tree holding `directory`
    (nothing when it is not in one, or git is not installed)."""
    env = dict(os.environ) if env is None else env
    if (_git(directory, "rev-parse", "--is-inside-work-tree") or "").strip() != "true":
        return {}
    out: dict[str, Any] = {}
    commit = (_git(directory, "rev-parse", "--verify", "-q", "HEAD") or "").strip()
    out["git_commit"] = commit or None
    branch = (_git(directory, "symbolic-ref", "--short", "-q", "HEAD") or "").strip()
    # CI checks out a detached commit; the CI system knows the branch
    out["git_branch"] = (
        branch
        or env.get("GITHUB_HEAD_REF")
        or env.get("GITHUB_REF_NAME")
        or env.get("CI_COMMIT_REF_NAME")
        or None
    )
    status = _git(directory, "status", "--porcelain", "-z", "--untracked-files=normal", "--", ".")
    if status is None:
        out["git_dirty"] = None
    else:
        # storecfg's own state (.storecfg/: cache, journal) is not a change to the definition
        changed = [
            entry
            for entry in status.split("\0")
            if entry.strip() and ".storecfg" not in Path(entry[3:]).parts
        ]
        out["git_dirty"] = bool(changed)
    return out


def collect(
    directory: Path | None, command: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The provenance of an apply of `directory` (None: not from a definition directory)."""
    env = dict(os.environ) if env is None else env
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    source: dict[str, Any] = {}
    if directory is not None:
        source.update(git_info(directory, env))
    source.update(
        {
            "user": user,
            "host": socket.gethostname(),
            "tool_version": __version__,
            "command": command,
        }
    )
    actor = env.get("GITHUB_ACTOR") or env.get("GITLAB_USER_LOGIN")
    if actor:
        source["ci_actor"] = actor
    url = ci_run_url(env)
    if url:
        source["ci_run_url"] = url
    return scrub(source, env.get("STORECFG_TOKEN"))


def scrub(source: dict[str, Any], token: str | None) -> dict[str, Any]:
    """`source` with the token taken out of every string."""
    token = (token or "").strip()
    if not token:
        return source
    return {k: v.replace(token, "***") if isinstance(v, str) else v for k, v in source.items()}


def describe(source: dict[str, Any]) -> str:
    """`alice@ci-runner-7 from main@1a2b3c4d (dirty), https://…/runs/42` (what is known)."""
    who = source.get("ci_actor") or source.get("user") or "someone"
    text = f"{who}@{source['host']}" if source.get("host") else str(who)
    commit = source.get("git_commit")
    if commit or source.get("git_branch"):
        ref = f"{source.get('git_branch') or 'detached'}@{str(commit or '?')[:8]}"
        text += f" from {ref}" + (" (with uncommitted changes)" if source.get("git_dirty") else "")
    if source.get("ci_run_url"):
        text += f" ({source['ci_run_url']})"
    return text
