"""The YAML loader: YAML 1.2 core-schema meanings, merge keys, positions and limits."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from storecfg.compiler import load
from storecfg.compiler.load import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_SCALAR_CHARS,
    load_bytes,
    load_file,
)
from storecfg.compiler.positions import PosDict, PosList, find_templates, position_of
from storecfg.spec.yaml12 import resolve_plain


def value_of(text: str) -> Any:
    loaded = load_bytes(f"v: {text}\n".encode(), "t.yaml")
    assert loaded.diagnostics == []
    return loaded.data["v"]


def problems(text: str) -> list[str]:
    return [d.format() for d in load_bytes(text.encode(), "t.yaml").diagnostics]


# ---------------------------------------------------------------- YAML 1.2 core meanings


@pytest.mark.parametrize(
    "text",
    [
        *("NO", "no", "No", "yes", "Yes", "YES", "on", "On", "ON", "off", "Off", "OFF"),
        *("y", "Y", "n", "N", "nO", "yEs"),
    ],
)
def test_yaml_11_booleans_stay_strings(text: str) -> None:
    assert value_of(text) == text


@pytest.mark.parametrize("text", ["0755", "08", "22:22", "1:30:00", "1_000", "0b101", "2001-12-14"])
def test_sexagesimal_octal_like_and_dates_stay_strings(text: str) -> None:
    assert value_of(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("0o17", 15),
        ("0x1F", 31),
        ("0x1f", 31),
        ("0", 0),
        ("-0", 0),
        ("+12", 12),
        ("-12", -12),
        ("1.5", 1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("-2.5E-1", -0.25),
        ("null", None),
        ("Null", None),
        ("~", None),
        ("", None),
    ],
)
def test_core_schema_values(text: str, expected: Any) -> None:
    value = value_of(text)
    assert value == expected
    if isinstance(expected, float):  # floats remember how they were written, for messages
        assert isinstance(value, float) and not isinstance(value, bool)
        assert getattr(value, "text", text) == text
    else:
        assert type(value) is type(expected)


def test_infinity_and_nan() -> None:
    assert value_of(".inf") == math.inf
    assert value_of("-.Inf") == -math.inf
    assert math.isnan(value_of(".NaN"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [('"true"', "true"), ("'12'", "12"), ('"0x1F"', "0x1F"), ("'null'", "null"), ('""', "")],
)
def test_quoted_values_are_strings(text: str, expected: str) -> None:
    assert value_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!!str 10", "10"),
        ("!!str true", "true"),
        ('!!int "12"', 12),
        ("!!float 1", 1.0),
        ("!!bool true", True),
        ("!!null null", None),
        ("!!str", ""),
    ],
)
def test_explicit_standard_tags(text: str, expected: Any) -> None:
    value = value_of(text)
    assert value == expected
    if isinstance(expected, float):  # floats remember how they were written, for messages
        assert isinstance(value, float) and not isinstance(value, bool)
        assert getattr(value, "text", text) == text
    else:
        assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!bool yes", "t.yaml:1:4: SC110 -: 'yes' is not a valid !!bool"),
        ("!!int 1.5", "t.yaml:1:4: SC110 -: '1.5' is not a valid !!int"),
        ("!!int true", "t.yaml:1:4: SC110 -: 'true' is not a valid !!int"),
        ("!!binary aGk=", "t.yaml:1:4: SC110 -: unsupported tag '!!binary'"),
        (
            "!!timestamp 2001-12-14",
            "t.yaml:1:4: SC110 -: unsupported tag '!!timestamp'",
        ),
        ("!custom x", "t.yaml:1:4: SC110 -: unsupported tag '!custom'"),
        ("!!set {a}", "t.yaml:1:4: SC110 -: unsupported tag '!!set'"),
        ("!!omap [a: 1]", "t.yaml:1:4: SC110 -: unsupported tag '!!omap'"),
    ],
)
def test_other_tags_are_refused(text: str, message: str) -> None:
    assert problems(f"v: {text}\n") == [message]


def test_keys_follow_the_same_meanings() -> None:
    loaded = load_bytes(b"yes: 1\nNO: 2\n'1': 3\n", "t.yaml")
    assert loaded.data == {"yes": 1, "NO": 2, "1": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1: x\n", "t.yaml:1:1: SC110 -: mapping key 1 must be a string; quote it"),
        ("true: x\n", "t.yaml:1:1: SC110 -: mapping key true must be a string; quote it"),
        ("~: x\n", "t.yaml:1:1: SC110 -: mapping key null must be a string; quote it"),
        ("? [a]\n: x\n", "t.yaml:1:3: SC110 -: mapping keys must be strings, not collections"),
    ],
)
def test_keys_must_be_strings(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_a_yaml_11_directive_does_not_bring_back_yaml_11_meanings() -> None:
    loaded = load_bytes(b"%YAML 1.1\n---\nv: NO\n", "t.yaml")
    assert loaded.data == {"v": "NO"}


def test_integers_beyond_64_bits_are_refused() -> None:
    assert value_of(str(2**63 - 1)) == 2**63 - 1
    assert value_of("0x7fffffffffffffff") == 2**63 - 1
    assert problems(f"v: {2**63}\n") == [
        "t.yaml:1:4: SC110 -: number 9223372036854775808 is too large "
        "(the limit is 9,223,372,036,854,775,807); quote it if it is text"
    ]
    with pytest.raises(ValueError, match="too large"):
        resolve_plain("0x" + "f" * 5000)


def test_byte_order_mark_is_ignored() -> None:
    loaded = load_bytes(b"\xef\xbb\xbfv: 1\n", "t.yaml")
    assert loaded.data == {"v": 1}
    assert loaded.data.vpos["v"] == (1, 4)


# ---------------------------------------------------------------- anchors and merge keys


def test_merge_key_copies_keys_and_written_keys_win() -> None:
    loaded = load_bytes(
        b"base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  b: 3\n  c: 4\n", "t.yaml"
    )
    assert loaded.diagnostics == []
    assert loaded.data["other"] == {"a": 1, "b": 3, "c": 4}
    assert loaded.data["base"] == {"a": 1, "b": 2}
    assert not loaded.copied  # no template moved: the recorded sites are all still right


@pytest.mark.parametrize(
    "text",
    [
        b"base: &base {a: '{{ vars.x }}'}\nother:\n  <<: *base\n",
        b"base: &base {a: '{{ vars.x }}'}\nother: *base\n",
        b"other:\n  <<: {a: '{{ vars.x }}'}\n",
    ],
)
def test_templates_copied_by_aliases_or_merges_are_found(text: bytes) -> None:
    loaded = load_bytes(text, "t.yaml")
    assert loaded.copied
    sites = find_templates(loaded.data)
    assert any(site.path == ("other", "a") for site in sites)


def test_merge_key_with_a_list_of_mappings_first_wins() -> None:
    loaded = load_bytes(
        b"x: &x {a: 1, b: 1}\ny: &y {b: 2, c: 2}\nz:\n  <<: [*x, *y]\n  c: 3\n", "t.yaml"
    )
    assert loaded.data["z"] == {"a": 1, "b": 1, "c": 3}


def test_merged_keys_keep_the_position_of_their_source() -> None:
    loaded = load_bytes(b"base: &base\n  a: 1\nother:\n  <<: *base\n  b: 2\n", "t.yaml")
    other = loaded.data["other"]
    assert other.vpos == {"a": (2, 6), "b": (5, 6)}
    assert other.kpos == {"a": (2, 3), "b": (5, 3)}


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    loaded = load_bytes(b'x: {"<<": 1}\n', "t.yaml")
    assert loaded.data == {"x": {"<<": 1}}


def test_merging_a_scalar_is_an_error() -> None:
    assert problems("a: &a 1\nb:\n  <<: *a\n") == ["t.yaml:3:7: SC110 -: '<<' merges only mappings"]


def test_duplicate_keys_are_errors_but_merged_keys_may_be_overridden() -> None:
    assert problems("a: {x: 1, x: 2}\n") == [
        "t.yaml:1:11: SC102 -: duplicate key 'x' (first defined at line 1)"
    ]
    assert problems("a: 1\nb:\n  c: 1\na: 2\n") == [
        "t.yaml:4:1: SC102 -: duplicate key 'a' (first defined at line 1)"
    ]
    assert problems("a: &a {x: 1}\nb: {<<: *a, x: 2}\n") == []


def test_aliases_are_copies_not_shared_objects() -> None:
    loaded = load_bytes(b"a: &a {x: [1]}\nb: *a\n", "t.yaml")
    a, b = loaded.data["a"], loaded.data["b"]
    assert a == b
    assert a is not b and a["x"] is not b["x"]
    assert isinstance(b, PosDict) and isinstance(b["x"], PosList)


def test_alias_budget_boundary() -> None:
    # an anchored list of 999 items weighs 1,000 values; each alias copies all of them
    items = ", ".join(["1"] * 999)
    under = MAX_ALIAS_NODES // 1000
    ok = f"a: &a [{items}]\nb: [" + ", ".join(["*a"] * under) + "]\n"
    assert problems(ok) == []
    over = f"a: &a [{items}]\nb: [" + ", ".join(["*a"] * (under + 1)) + "]\n"
    [message] = problems(over)
    assert message.startswith("t.yaml:2:")
    assert message.endswith(
        ': SC104 -: aliases expand to more than 100,000 values (a "billion laughs" file?)'
    )


def test_unknown_alias() -> None:
    assert problems("a: *nowhere\n") == ["t.yaml:1:4: SC101 -: alias *nowhere names no anchor"]


# ---------------------------------------------------------------- positions


def test_positions_of_keys_values_and_items() -> None:
    text = b"store:\n  id: s1\n  name: 'Shop'\nlist:\n  - a\n  -   b\nflow: {k: [x, y]}\n"
    data = load_bytes(text, "t.yaml").data
    assert data.start == (1, 1)
    assert data.kpos == {"store": (1, 1), "list": (4, 1), "flow": (7, 1)}
    assert data["store"].vpos == {"id": (2, 7), "name": (3, 9)}
    assert data["store"].kpos == {"id": (2, 3), "name": (3, 3)}
    assert data["list"].ipos == [(5, 5), (6, 7)]
    assert data["flow"].vpos == {"k": (7, 11)}
    assert data["flow"]["k"].ipos == [(7, 12), (7, 15)]


def test_position_of_paths() -> None:
    data = load_bytes(b"skus:\n  - id: a\n    name: A\n", "t.yaml").data
    assert position_of(data, ("skus", 0, "name")) == (3, 11)
    assert position_of(data, ("skus", 0, "name"), key=True) == (3, 5)
    assert position_of(data, ("skus", 0)) == (2, 5)
    # a missing field: the deepest container that exists
    assert position_of(data, ("skus", 0, "vendor")) == (2, 5)
    assert position_of(data, ("skus", 5, "vendor")) == (2, 3)  # the list starts at '-'
    assert position_of(data, ()) == (1, 1)


def test_positions_with_multibyte_characters() -> None:
    data = load_bytes("name: 'Øre ünïcode'\nnext: x\n".encode(), "t.yaml").data
    assert data.vpos == {"name": (1, 7), "next": (2, 7)}
    assert problems("a: 'ø'\nb: ø\x01\n") == [
        "t.yaml:2:5: SC101 -: character U+0001 is not allowed in YAML (control characters are "
        "not allowed); write it as an escape in a double-quoted string"
    ]


def test_template_sites_know_their_path_and_block_style() -> None:
    text = b"a:\n  - '{{ x }}'\n  - plain\nb: |\n  {{ y }}\nc: {d: '{% if 1 %}z{% endif %}'}\n"
    loaded = load_bytes(text, "t.yaml")
    sites = [(s.path, s.line, s.column, s.literal) for s in loaded.templates]
    assert sites == [
        (("a", 0), 2, 5, False),
        (("b",), 4, 4, True),
        (("c", "d"), 6, 8, False),
    ]


def test_templates_copied_by_aliases_are_found() -> None:
    loaded = load_bytes(b"a: &a {n: '{{ x }}'}\nb: *a\n", "t.yaml")
    assert loaded.copied
    sites = find_templates(loaded.data)
    assert sorted(s.path for s in sites) == [("a", "n"), ("b", "n")]
    assert {(s.line, s.column) for s in sites} == {(1, 11)}  # where the text was written


# ---------------------------------------------------------------- limits


def test_depth_limit_boundary() -> None:
    # the top-level mapping is one level; MAX_DEPTH - 1 nested lists fill the limit
    fits = "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert problems(fits) == []
    deeper = "x: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert problems(deeper) == [
        f"t.yaml:1:{3 + MAX_DEPTH}: SC106 -: nesting is deeper than 64 levels"
    ]


def test_scalar_limit_boundary() -> None:
    assert problems("x: " + "y" * MAX_SCALAR_CHARS + "\n") == []
    assert problems("x: '" + "y" * (MAX_SCALAR_CHARS + 1) + "'\n") == [
        "t.yaml:1:4: SC105 -: a string of 1,048,577 characters is over the limit"
    ]


def test_file_size_limit_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 10)
    assert load_bytes(b"a: 123456\n", "t.yaml").data == {"a": 123456}
    assert [d.format() for d in load_bytes(b"a: 1234567\n", "t.yaml").diagnostics] == [
        "t.yaml:1:1: SC105 -: file is 11 bytes; the limit is 10"
    ]


def test_one_document_only_but_markers_are_fine() -> None:
    assert load_bytes(b"---\na: 1\n...\n", "t.yaml").data == {"a": 1}
    assert problems("a: 1\n---\nb: 2\n") == [
        "t.yaml:2:1: SC110 -: a file holds one YAML document; found a second '---'"
    ]


def test_empty_and_comment_only_files_hold_nothing() -> None:
    for text in (b"", b"# just a comment\n", b"---\n"):
        loaded = load_bytes(text, "t.yaml")
        assert loaded.data is None
        assert loaded.diagnostics == []


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    loaded = load_file(tmp_path, "dir.yaml")
    assert loaded.data is None
    assert [d.format() for d in loaded.diagnostics] == [
        "dir.yaml:1:1: SC109 -: cannot read file: Is a directory"
    ]
