"""Find the files that include patterns name, with one bounded walk of the store directory.

`pathlib.Path.glob` is not fit for input from a definition: every `**` of a pattern
lists the tree again (six of them over 30 directories take most of a minute), a
directory it cannot read counts as empty (so a permission problem silently drops
every resource defined below it, and the next plan deletes them), and a symbolic link
loop ends in an exception. Here:

* a `Tree` lists each directory at most once, shared by every pattern of a compile,
  and refuses to list more than `MAX_ENTRIES` entries in all;
* a pattern is matched segment by segment, carrying the set of pattern positions
  still possible (a small NFA), so its cost is (directories visited) x (segments)
  whatever its `**`s;
* anything the walk cannot look at -- a directory that cannot be read, a symbolic
  link loop, a link to nothing -- is an `IncludeError`, never "no files".

The meaning of a pattern is pathlib's: `*`, `?` and `[...]` within one path segment
(they match names starting with a dot too), `**` alone as a segment for any number of
directories (zero included) without entering symbolically linked directories, which
the other segments do enter; matches come back in pathlib's order (by path segments).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import display_path, quoted
from ..spec.issues import Issue
from ..spec.suggest import closest

#: entries (files and directories) the walk of one store directory may list
MAX_ENTRIES = 100_000

_WILDCARD = re.compile(r"[*?\[]")


class IncludeError(Exception):
    """An include pattern cannot be resolved; `code` is SC112 or SC113."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PatternError(ValueError):
    """The pattern itself is malformed (for example `a**b`)."""


def _shown(rel: str) -> str:
    return rel or "."


@dataclass(frozen=True, slots=True)
class _Segment:
    text: str
    #: None for '**'; a name test otherwise
    test: Callable[[str], object] | None
    precise: bool


def _segments(pattern: str) -> list[_Segment]:
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    if not parts:
        raise PatternError("the pattern is empty")
    out: list[_Segment] = []
    for part in parts:
        if part == "**":
            out.append(_Segment(part, None, False))
        elif "**" in part:
            raise PatternError("'**' can only be a whole path segment, as in catalog/**/*.yaml")
        elif _WILDCARD.search(part):
            out.append(_Segment(part, re.compile(fnmatch.translate(part)).fullmatch, False))
        else:
            out.append(_Segment(part, part.__eq__, True))
    return out


class Tree:
    """Directory listings of one store directory, each read at most once."""

    def __init__(self, root: str, display: Callable[[str], str] = _shown) -> None:
        self.root = root
        self.display = display
        self.entries = 0
        self._listings: dict[str, dict[str, os.DirEntry[str]]] = {}

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def listing(self, rel: str) -> dict[str, os.DirEntry[str]]:
        found = self._listings.get(rel)
        if found is not None:
            return found
        entries: dict[str, os.DirEntry[str]] = {}
        try:
            with os.scandir(self._path(rel)) as it:
                for entry in it:
                    self.entries += 1
                    if self.entries > MAX_ENTRIES:
                        raise IncludeError(
                            "SC113",
                            f"the store directory holds more than {MAX_ENTRIES:,} files and "
                            "directories where the include patterns look; narrow the patterns "
                            "or move other files out of the store directory",
                        )
                    entries[entry.name] = entry
        except OSError as exc:
            raise self._error(rel, exc, "cannot read directory") from None
        self._listings[rel] = entries
        return entries

    def _error(self, rel: str, exc: OSError, what: str) -> IncludeError:
        shown = self.display(self._path(rel))
        if exc.errno == errno.ELOOP:
            return IncludeError("SC112", f"{shown} is a symbolic link loop")
        reason = (exc.strerror or str(exc)).lower()
        return IncludeError("SC112", f"{what} {shown}: {reason}")

    def _kind(self, rel: str, entry: os.DirEntry[str]) -> tuple[bool, bool, bool]:
        """(is a directory, is a regular file, is a symbolic link) of an entry, links followed.

        A link loop or any other error looking at it is an IncludeError; so is a link
        to nothing (what it was meant to hold would silently be missing)."""
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as exc:
            raise self._error(rel, exc, "cannot look at") from None
        if is_link and not is_dir and not is_file and not os.path.exists(self._path(rel)):
            shown = self.display(self._path(rel))
            raise IncludeError("SC112", f"{shown} is a symbolic link to a missing file")
        return is_dir, is_file, is_link

    def match(self, pattern: str) -> list[str]:
        """Paths (relative to the root, '/'-separated) of the regular files `pattern`
        matches, in pathlib's order. Raises PatternError or IncludeError."""
        segments = _segments(pattern)
        last = len(segments)
        found: list[str] = []
        todo: list[tuple[str, frozenset[int]]] = [("", _closure(segments, {0}))]
        while todo:
            rel, states = todo.pop()
            live = [i for i in states if i < last]
            if not live:
                continue
            listing = self.listing(rel)
            if all(segments[i].precise for i in live):
                names = [segments[i].text for i in live if segments[i].text in listing]
            else:
                names = list(listing)
            for name in names:
                entry = listing[name]
                moved = {i + 1 for i in live if (t := segments[i].test) is not None and t(name)}
                child = f"{rel}/{name}" if rel else name
                if moved:
                    is_dir, is_file, is_link = self._kind(child, entry)
                else:  # only a '**' can take it: a directory, not entered through a link
                    is_dir, is_file, is_link = _real_directory(entry), False, False
                if is_dir and not is_link:
                    moved.update(i for i in live if segments[i].test is None)
                if not moved:
                    continue
                nxt = _closure(segments, moved)
                if last in moved and is_file:  # a trailing "**" matches directories only
                    found.append(child)
                if is_dir and any(i < last for i in nxt):
                    todo.append((child, nxt))
        found.sort(key=lambda p: p.split("/"))
        return found

    def files(self, wanted: Callable[[str], bool]) -> list[str]:
        """Regular files anywhere below the root whose names are `wanted` (for
        suggestions: what cannot be read only makes the list shorter)."""
        out: list[str] = []
        todo = [""]
        while todo:
            rel = todo.pop()
            try:
                listing = self.listing(rel)
            except IncludeError:
                continue
            for name, entry in listing.items():
                child = f"{rel}/{name}" if rel else name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(child)
                    elif wanted(name) and entry.is_file():
                        out.append(child)
                except OSError:
                    continue
        return sorted(out, key=lambda p: p.split("/"))


def _real_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _closure(segments: list[_Segment], states: set[int]) -> frozenset[int]:
    """Positions reachable without reading a name: a '**' may match no directory."""
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(segments) and segments[i].test is None and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return frozenset(out)


def did_you_mean_file(tree: Tree, name: str) -> str:
    """'; did you mean catalog/plans.yaml?' for a close YAML file in the store directory."""
    candidates = tree.files(lambda n: fnmatch.fnmatchcase(n, "*.y*ml"))[:2000]
    match = closest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""


class Includes:
    """The files store.yaml's `include` patterns name, in order and each once, with the
    problems found on the way as issues at ("include", INDEX)."""

    def __init__(self, root_dir: Path, store_file: Path, tree: Callable[[], Tree]) -> None:
        self.root_dir = root_dir
        self.store_file = store_file
        #: the listings of the store directory, made on first use
        self.tree = tree
        #: (include pattern, absolute paths it matched)
        self.globs: list[tuple[str, list[str]]] = []
        self.issues: list[Issue] = []

    def expand(self, patterns: list[Any], skip: Collection[int] = ()) -> list[Path]:
        """The files to read; `skip` holds the indexes of patterns already reported."""
        base = os.path.realpath(self.root_dir)
        seen: set[str] = {os.path.realpath(self.store_file)}
        out: list[Path] = []
        for i, pattern in enumerate(patterns):
            if not isinstance(pattern, str) or not pattern or i in skip:
                continue  # the schema or the template error reports it
            where = ("include", i)
            parts = Path(pattern).parts
            if (
                Path(pattern).is_absolute()
                or pattern.startswith(("/", "\\"))
                or ".." in parts
                or "~" in pattern[:1]
            ):
                self.issues.append(
                    Issue(
                        "SC107",
                        where,
                        f"include {quoted(pattern)} leaves the store directory; "
                        "patterns are relative to store.yaml and may not use '..'",
                    )
                )
                continue
            try:
                rels = self.tree().match(pattern)
            except PatternError as exc:
                self.issues.append(
                    Issue(
                        "SC107", where, f"include {quoted(pattern)} is not a valid pattern: {exc}"
                    )
                )
                continue
            except IncludeError as exc:
                self.issues.append(
                    Issue(exc.code, where, f"include {quoted(pattern)}: {exc.message}")
                )
                continue
            matches = [self.root_dir / rel for rel in rels]
            self.globs.append((pattern, [os.path.realpath(m) for m in matches]))
            for match in matches:
                real = os.path.realpath(match)
                if os.path.commonpath([base, real]) != base:
                    self.issues.append(
                        Issue(
                            "SC107",
                            where,
                            f"include {quoted(pattern)} matches {display_path(str(match))}, "
                            "which links outside the store directory",
                        )
                    )
                    continue
                if real not in seen:
                    seen.add(real)
                    out.append(match)
            if not matches:
                # a plain file name that is missing is a mistake; an empty glob may be fine
                if not any(c in pattern for c in "*?["):
                    hint = did_you_mean_file(self.tree(), pattern)
                    self.issues.append(
                        Issue(
                            "SC111", where, f"included file {quoted(pattern)} does not exist{hint}"
                        )
                    )
                else:
                    self.issues.append(
                        Issue("SC108", where, f"include {quoted(pattern)} matches no file")
                    )
        return out
