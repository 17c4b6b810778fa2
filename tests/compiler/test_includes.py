"""The include walk matches what pathlib's glob matches, on any tree and pattern, with
each directory listed once."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storecfg.compiler import includes
from storecfg.compiler.includes import PatternError, Tree

NAMES = ["a", "b", "ab", ".h", "a.yaml", "b.yaml", "x.yml", "a-b.yaml", "c"]
SEGMENTS = ["*", "**", "a", "*.yaml", "?", "[ab]", "a*", "*.y*ml", ".h", "b", "l", "[!a]*"]

trees = st.lists(
    st.tuples(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4), st.booleans()),
    min_size=1,
    max_size=25,
)
links = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=3)
patterns = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4).map("/".join)


def build(
    root: Path, entries: list[tuple[list[str], bool]], symlinks: list[tuple[int, int]]
) -> None:
    directories = [root]
    for parts, is_dir in entries:
        path = root.joinpath(*parts)
        try:
            if is_dir:
                path.mkdir(parents=True, exist_ok=True)
                directories.append(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.is_dir():
                    path.write_text("")
        except (FileExistsError, NotADirectoryError):
            pass
    for source, target in symlinks:  # links to directories inside the tree, loops included
        link = directories[source % len(directories)] / "l"
        if not link.exists() and not link.is_symlink():
            link.symlink_to(directories[target % len(directories)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, links, st.lists(patterns, min_size=1, max_size=5))
def test_the_walk_matches_what_pathlib_matches(
    entries: list[tuple[list[str], bool]], symlinks: list[tuple[int, int]], globs: list[str]
) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        build(root, entries, symlinks)
        tree = Tree(str(root))
        for pattern in globs:
            expected = [str(m.relative_to(root)) for m in sorted(root.glob(pattern)) if m.is_file()]
            assert tree.match(pattern) == expected, pattern
    finally:
        shutil.rmtree(root)


def test_each_directory_is_listed_once_for_all_patterns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["a/x.yaml", "a/b/y.yaml", "c/z.yaml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    listed: list[str] = []
    real = os.scandir

    def spy(path: str) -> object:
        listed.append(path)
        return real(path)

    monkeypatch.setattr(includes.os, "scandir", spy)
    tree = Tree(str(tmp_path))
    # pathlib's order: by path segments ('b' < 'x.yaml')
    assert tree.match("**/*.yaml") == ["a/b/y.yaml", "a/x.yaml", "c/z.yaml"]
    assert tree.match("a/**/**/**/*.yaml") == ["a/b/y.yaml", "a/x.yaml"]
    assert tree.match("*/*.yaml") == ["a/x.yaml", "c/z.yaml"]
    assert sorted(listed) == sorted(
        {str(tmp_path), *(str(tmp_path / d) for d in "ac"), str(tmp_path / "a" / "b")}
    )


@pytest.mark.parametrize("pattern", ["", ".", "a/**b/*.yaml", "**x"])
def test_malformed_patterns(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(PatternError):
        Tree(str(tmp_path)).match(pattern)


def test_literal_patterns_look_only_where_they_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tax").mkdir()
    (tmp_path / "tax" / "us.yaml").write_text("")
    (tmp_path / "big").mkdir()
    listed: list[str] = []
    real = os.scandir

    def spy(path: str) -> object:
        listed.append(path)
        return real(path)

    monkeypatch.setattr(includes.os, "scandir", spy)
    assert Tree(str(tmp_path)).match("tax/us.yaml") == ["tax/us.yaml"]
    assert listed == [str(tmp_path), str(tmp_path / "tax")]
