"""The text engine on tricky YAML: every edit changes only its own text, and the
file reads back with the new value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from storecfg.adopt.emit import Layout, emit_entry
from storecfg.adopt.layout import infer_layout
from storecfg.adopt.scalars import NotBlock, Unsafe, block_scalar_lines, scalar_text
from storecfg.adopt.text import New, Source
from storecfg.compiler.load import load_bytes
from storecfg.compiler.positions import PosDict
from storecfg.spec.normalize import plain


def src(text: str) -> Source:
    source = Source(text.encode(), "f.yaml")
    assert source.data is not None, source.diagnostics
    return source


def node(source: Source, path: tuple[Any, ...]) -> tuple[Any, Any]:
    container: Any = source.data
    for step in path[:-1]:
        container = container[step]
    return container, path[-1]


def replace(text: str, path: tuple[Any, ...], value: Any, layout: Layout | None = None) -> str:
    source = src(text)
    container, key = node(source, path)
    edit = source.replace_scalar(source.value_span(container, key), value, layout or Layout())
    return source.render([edit]).decode()


def reads(text: str) -> Any:
    loaded = load_bytes(text.encode(), "f.yaml")
    assert not loaded.diagnostics, loaded.diagnostics
    return plain(loaded.data)


# ---------------------------------------------------------------- scalars in place


def test_plain_scalar_keeps_its_comment_and_everything_else() -> None:
    text = "# plans\nname: Basic   # shown to buyers\nsku: e1\n"
    assert replace(text, ("name",), "Premium") == (
        "# plans\nname: Premium   # shown to buyers\nsku: e1\n"
    )


def test_decimal_string_stays_double_quoted() -> None:
    text = 'price:\n  setup: "0.00"\n  recurring: "9.50"  # per user\n'
    out = replace(text, ("price", "recurring"), "10.00")
    assert out == 'price:\n  setup: "0.00"\n  recurring: "10.00"  # per user\n'


def test_single_quotes_stay_and_double_their_quote() -> None:
    text = "name: 'Contoso'\n"
    assert replace(text, ("name",), "Contoso's store") == "name: 'Contoso''s store'\n"
    assert reads(replace(text, ("name",), "Contoso's store")) == {"name": "Contoso's store"}


def test_plain_value_that_would_read_as_another_type_is_quoted() -> None:
    text = "name: Basic\n"
    for value in ("10.00", "true", "null", "NO: way", "- dash", "#hash", "", " pad"):
        out = replace(text, ("name",), value)
        assert reads(out) == {"name": value}, out
    # in the file's own quote style
    out = replace(text, ("name",), "12.50", Layout(quote="'"))
    assert out == "name: '12.50'\n"


def test_norway_is_quoted_for_yaml_1_1_readers() -> None:
    out = replace("region: US\n", ("region",), "NO")
    assert out == 'region: "NO"\n'
    assert reads(out) == {"region": "NO"}
    assert replace("region: US\n", ("region",), "Norway") == "region: Norway\n"


def test_yaml_1_1_lookalikes_are_quoted_in_the_files_quote_style() -> None:
    values = ["yes", "No", "ON", "off", "y", "N", "~", "0777", "1_000", "1:30", "2026-12-05", "<<"]
    for value in values:
        out = replace("name: Basic\n", ("name",), value, Layout(quote="'"))
        assert out == f"name: '{value}'\n"
        assert yaml.safe_load(out) == {"name": value}  # a YAML 1.1 reader
        flow = replace("tags: [a, b]\n", ("tags", 1), value)
        assert flow == f'tags: [a, "{value}"]\n'
        assert yaml.safe_load(flow) == {"tags": ["a", value]}


def test_numbers_and_booleans_are_written_plain() -> None:
    text = "max: 300\npublished: true\n"
    assert replace(text, ("max",), 500) == "max: 500\npublished: true\n"
    assert replace(text, ("published",), False) == "max: 300\npublished: false\n"


def test_flow_mapping_value_replaced_in_place() -> None:
    text = "trial: {length: 1, unit: month}   # one month\n"
    out = replace(text, ("trial", "length"), 12)
    assert out == "trial: {length: 12, unit: month}   # one month\n"


def test_flow_sequence_item_needing_quotes_in_flow() -> None:
    text = "screens: [plans, pay]\n"
    out = replace(text, ("screens", 1), "a, b")
    assert out == 'screens: [plans, "a, b"]\n'
    assert reads(out) == {"screens": ["plans", "a, b"]}


def test_tagged_scalar_keeps_its_tag() -> None:
    text = "name: !!str 10\n"
    out = replace(text, ("name",), "11")
    assert out.startswith("name: !!str ")
    assert reads(out) == {"name": "11"}


def test_multi_line_plain_scalar_becomes_one_line() -> None:
    text = "description: a long\n  description here\nnext: 1\n"
    out = replace(text, ("description",), "short")
    assert out == "description: short\nnext: 1\n"


def test_literal_block_scalar_keeps_header_indent_and_blank_lines() -> None:
    text = "body: |\n    Line one\n    Line two\n\n# next\nurl: x\n"
    out = replace(text, ("body",), "Line one\nLine 2\nLine three\n")
    assert out == "body: |\n    Line one\n    Line 2\n    Line three\n\n# next\nurl: x\n"
    assert reads(out)["body"] == "Line one\nLine 2\nLine three\n"


def test_literal_block_chomping_follows_the_value() -> None:
    text = "body: |-\n  a\n  b\nx: 1\n"
    out = replace(text, ("body",), "a\nc")
    assert out == "body: |-\n  a\n  c\nx: 1\n"
    out = replace(text, ("body",), "a\nc\n")
    assert out == "body: |\n  a\n  c\nx: 1\n"
    out = replace(text, ("body",), "a\n\n\n")
    assert reads(out)["body"] == "a\n\n\n"


def test_literal_block_first_line_indented_gets_an_indicator() -> None:
    out = replace("body: |\n  a\nx: 1\n", ("body",), "  indented\nb\n")
    assert reads(out)["body"] == "  indented\nb\n"


def test_folded_block_scalar_folds_right() -> None:
    text = "description: >-\n  <p>Everything in Business Standard plus\n  Intune.</p>\nsku: x\n"
    for value in ("one line", "a\nb", "a\n\nb", "p one\n\np two\nrest"):
        out = replace(text, ("description",), value)
        assert out.startswith("description: >-\n")
        assert reads(out)["description"] == value, out


def test_crlf_file_stays_crlf() -> None:
    text = "a: 1\r\nbody: |\r\n  x\r\n  y\r\nb: 'q'\r\n"
    out = replace(text, ("body",), "x\nz\n")
    assert out == "a: 1\r\nbody: |\r\n  x\r\n  z\r\nb: 'q'\r\n"
    out = replace(text, ("b",), "r")
    assert out == "a: 1\r\nbody: |\r\n  x\r\n  y\r\nb: 'r'\r\n"


def test_byte_order_mark_is_kept() -> None:
    source = Source(b"\xef\xbb\xbfname: a\n", "f.yaml")
    edit = source.replace_scalar(source.value_span(source.data, "name"), "b", Layout())
    assert source.render([edit]) == b"\xef\xbb\xbfname: b\n"


def test_unicode_before_the_value() -> None:
    text = "name: \"Caf\u00e9 \U0001f600\"\nprice: '1.00'\n"
    out = replace(text, ("price",), "2.00")
    assert out == "name: \"Caf\u00e9 \U0001f600\"\nprice: '2.00'\n"


def test_document_markers_are_kept() -> None:
    text = "%YAML 1.2\n---\n# c\nname: a\n...\n"
    assert replace(text, ("name",), "b") == "%YAML 1.2\n---\n# c\nname: b\n...\n"


def test_a_second_document_is_refused_by_the_loader() -> None:
    source = Source(b"a: 1\n---\nb: 2\n", "f.yaml")
    assert source.data is None
    assert source.diagnostics and source.diagnostics[0].location.line == 2


def test_value_that_looks_like_a_template_is_refused() -> None:
    with pytest.raises(Unsafe, match="template"):
        replace("name: a\n", ("name",), "{{ vars.x }}")


# ---------------------------------------------------------------- anchors


def test_a_shared_anchor_is_refused_but_an_unused_one_is_edited() -> None:
    text = "a: &one {length: 1, unit: year}\nb: *one\n"
    with pytest.raises(Unsafe, match="anchor &one"):
        replace(text, ("a", "length"), 2)
    source = src(text)
    with pytest.raises(Unsafe, match="alias"):
        source.value_span(source.data, "b")
    out = replace("a: &one 5\nb: 6\n", ("a",), 7)
    assert out == "a: &one 7\nb: 6\n"


def test_a_value_merged_from_an_anchor_is_refused() -> None:
    text = "base: &base\n  unit: user\n  max: 5\nitem:\n  <<: *base\n  max: 6\n"
    with pytest.raises(Unsafe, match="anchor"):
        replace(text, ("item", "unit"), "seat")
    assert replace(text, ("item", "max"), 7).endswith("  max: 7\n")


# ---------------------------------------------------------------- keys


def test_insert_key_before_its_next_sibling_above_that_siblings_comment() -> None:
    text = "plan:\n  name: A\n  # the price\n  price: x\n"
    source = src(text)
    edit = source.insert_key(source.data["plan"], "published", False, Layout(), before="price")
    out = source.render([edit]).decode()
    assert out == "plan:\n  name: A\n  published: false\n  # the price\n  price: x\n"


def test_insert_key_at_the_end_of_a_nested_mapping() -> None:
    text = "- id: a\n  price:\n    setup: '0.00'\n  name: A\n- id: b\n"
    source = src(text)
    edit = source.insert_key(source.data[0], "trial", {"length": 1, "unit": "month"}, Layout())
    out = source.render([edit]).decode()
    assert out == (
        "- id: a\n  price:\n    setup: '0.00'\n  name: A\n  trial:\n    length: 1\n"
        "    unit: month\n- id: b\n"
    )
    flow = Layout(flow={("*", "trial"): True})
    edit = source.insert_key(source.data[0], "trial", {"length": 1, "unit": "month"}, flow)
    assert "  trial: {length: 1, unit: month}\n- id: b" in source.render([edit]).decode()


def test_insert_key_at_the_end_of_a_file_without_final_newline() -> None:
    source = src("a: 1\nb: 2")
    edit = source.insert_key(source.data, "c", "9.50", Layout())
    assert source.render([edit]).decode() == 'a: 1\nb: 2\nc: "9.50"\n'


def test_insert_into_crlf_file_uses_crlf() -> None:
    source = src("a: 1\r\nb:\r\n  c: 2\r\n")
    edit = source.insert_key(source.data["b"], "d", {"e": "x y"}, Layout())
    assert source.render([edit]) == b"a: 1\r\nb:\r\n  c: 2\r\n  d:\r\n    e: x y\r\n"


def test_remove_key_with_its_block_and_comment() -> None:
    text = "plan:\n  name: A\n  # a trial month\n  trial:\n    length: 1\n    unit: month\n  price: x\n"
    source = src(text)
    out = source.render([source.remove_key(source.data["plan"], "trial")]).decode()
    assert out == "plan:\n  name: A\n  price: x\n"


def test_keys_added_to_and_removed_from_a_flow_mapping() -> None:
    text = 'price: {setup: "0.00", recurring: "3.00"}  # per user\n'
    source = src(text)
    price = source.data["price"]
    out = source.render([source.remove_key(price, "setup")]).decode()
    assert out == 'price: {recurring: "3.00"}  # per user\n'
    out = source.render([source.remove_key(price, "recurring")]).decode()
    assert out == 'price: {setup: "0.00"}  # per user\n'
    edit = source.insert_key(price, "setup_fee", "5.00", Layout(), before="recurring")
    assert source.render([edit]).decode() == (
        'price: {setup: "0.00", setup_fee: "5.00", recurring: "3.00"}  # per user\n'
    )
    edit = source.insert_key(price, "z", 1, Layout())
    assert source.render([edit]).decode() == (
        'price: {setup: "0.00", recurring: "3.00", z: 1}  # per user\n'
    )
    one = src("price: {recurring: '3.00'}\nempty: { }\n")
    assert one.render([one.remove_key(one.data["price"], "recurring")]).decode() == (
        "price: {}\nempty: { }\n"
    )
    edit = one.insert_key(one.data["empty"], "a", [1, 2], Layout())
    assert one.render([edit]).decode() == "price: {recurring: '3.00'}\nempty: {a: [1, 2]}\n"


def test_remove_the_only_key_is_refused() -> None:
    source = src("a:\n  b: 1\n")
    with pytest.raises(Unsafe, match="only key"):
        source.remove_key(source.data["a"], "b")


# ---------------------------------------------------------------- lists


def seq_edit(text: str, key: str, layout_items: list[Any]) -> str:
    source = src(text)
    data = source.data
    assert isinstance(data, PosDict)
    edits = source.edit_block_sequence(data[key], layout_items, Layout(), (data, key))
    return source.render(edits).decode()


def test_block_list_items_inserted_and_removed_keep_their_comments() -> None:
    text = "screens:\n  - plans     # first\n  - addons\n  # pay last\n  - pay\nnext: 1\n"
    out = seq_edit(text, "screens", [0, New("terms"), 2])
    assert out == "screens:\n  - plans     # first\n  - terms\n  # pay last\n  - pay\nnext: 1\n"
    out = seq_edit(text, "screens", [0, 1, 2, New("done")])
    assert out.endswith("  - pay\n  - done\nnext: 1\n")


def test_block_list_of_objects_spaced_by_blank_lines() -> None:
    text = "plans:\n  - id: a\n    name: A\n\n  - id: b\n    name: B\n\n  - id: c\n    name: C\n"
    out = seq_edit(text, "plans", [0, 2])
    assert out == "plans:\n  - id: a\n    name: A\n\n  - id: c\n    name: C\n"
    out = seq_edit(text, "plans", [0, 1, 2, New({"id": "d", "name": "D"})])
    assert out.endswith("    name: C\n\n  - id: d\n    name: D\n")
    assert reads(out)["plans"][-1] == {"id": "d", "name": "D"}


def test_block_list_emptied_becomes_a_flow_empty_list() -> None:
    text = "plans:\n  - a\n  - b\nx: 1\n"
    assert seq_edit(text, "plans", []) == "plans: []\nx: 1\n"


def test_moving_items_is_refused() -> None:
    with pytest.raises(Unsafe, match="move"):
        seq_edit("l:\n  - a\n  - b\n", "l", [1, 0])


def test_flow_list_rewritten_from_its_own_item_texts() -> None:
    source = src("upgrades_to: [ 'b', c ]  # next\n")
    span = source.container_span(source.data["upgrades_to"])
    parts = [source.node_text(source.value_span(source.data["upgrades_to"], 0)), "d"]
    out = source.render([source.rewrite_flow(span, parts)]).decode()
    assert out == "upgrades_to: [ 'b', d ]  # next\n"


def test_overlapping_edits_are_refused() -> None:
    source = src("a: 1\n")
    span = source.value_span(source.data, "a")
    e1 = source.replace_scalar(span, 2, Layout())
    e2 = source.replace_scalar(span, 3, Layout())
    with pytest.raises(Unsafe, match="overlap"):
        source.render([e1, e2])


# ---------------------------------------------------------------- layout


def test_layout_is_read_from_the_files() -> None:
    text = (
        "service_plans:\n"
        "    -   id: a\n"
        "        period: {length: 1, unit: month}\n"
        "        price:\n"
        "            setup: '0.00'\n"
        "        tags:\n"
        "        - x\n"
        "        more:\n"
        "        - y\n"
    )
    layout = infer_layout([src(text)])
    assert layout.indent == 4
    assert layout.quote == "'"
    assert layout.flow_for(("service_plans", "period")) is True
    assert layout.flow_for(("x", "price")) is False
    assert layout.flow_for(("x", "unknown")) is None
    assert layout.seq_offset == 0


def test_a_field_not_written_yet_takes_the_style_of_its_schema_shape() -> None:
    text = (
        "service_plans:\n"
        "  - id: a\n"
        "    subscription_period: {length: 1, unit: year}\n"
        "    price:\n"
        "      recurring: '1.00'\n"
        "    rules:\n"
        "      cancellation: immediate\n"
        "    upgrades_to:\n"
        "      - b\n"
    )
    layout = infer_layout([src(text)])
    # small mappings are mostly block here, but periods are written in flow style
    assert emit_entry("trial", {"length": 14, "unit": "day"}, 4, layout, ("service_plans",)) == [
        "    trial: {length: 14, unit: day}"
    ]
    assert emit_entry("setup", {"x": "1"}, 4, layout, ("skus",)) == ["    setup:", "      x: '1'"]
    # lists of scalars are written in block style here
    assert emit_entry("plans", ["a", "b"], 2, layout, ("sales_categories",)) == [
        "  plans:",
        "    - a",
        "    - b",
    ]
    assert emit_entry("plans", ["a", "b"], 2, Layout(), ("sales_categories",)) == [
        "  plans: [a, b]"
    ]


# ---------------------------------------------------------------- read back


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{%"), max_size=30
)


@settings(max_examples=300, deadline=None)
@given(value=_TEXT, style=st.sampled_from(["", "'", '"']), flow=st.booleans())
def test_any_string_reads_back_in_any_style(value: str, style: str, flow: bool) -> None:
    try:
        text = scalar_text(value, style, flow, '"')
    except Unsafe:
        return
    doc = f"k: [{text}]\n" if flow else f"k: {text}\n"
    got = reads(doc)
    assert (got["k"][0] if flow else got["k"]) == value


_LINES = st.lists(st.text(alphabet="ab #:-\t", max_size=6), min_size=1, max_size=5).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(body=_LINES, trailing=st.integers(0, 3), style=st.sampled_from(["|", ">"]))
def test_any_text_reads_back_as_a_block_scalar(body: str, trailing: int, style: str) -> None:
    value = body + "\n" * trailing
    try:
        header, lines = block_scalar_lines(value, style, 2, 0)
    except NotBlock:
        assert not value.strip() or "\r" in value
        return
    doc = "k: " + header + "\n" + "\n".join(lines) + "\nz: 1\n"
    loaded = load_bytes(doc.encode(), "f.yaml")
    if loaded.diagnostics:  # tabs at the start of a line, for example
        assert any(c in value for c in "\t"), (doc, loaded.diagnostics)
        return
    assert plain(loaded.data)["k"] == value, doc


def test_insert_before_a_merged_key_goes_into_the_mapping_itself() -> None:
    text = "base: &base\n  unit: user\nitem:\n  <<: *base\n  name: A\n"
    source = src(text)
    edit = source.insert_key(source.data["item"], "max", 5, Layout(), before="unit")
    out = source.render([edit]).decode()
    assert out == "base: &base\n  unit: user\nitem:\n  <<: *base\n  name: A\n  max: 5\n"


@settings(max_examples=300, deadline=None)
@given(value=st.from_regex(r"[A-Za-z0-9 ._:~<=+-]{0,12}", fullmatch=True), flow=st.booleans())
def test_a_plain_string_reads_back_the_same_in_yaml_1_1_too(value: str, flow: bool) -> None:
    try:
        text = scalar_text(value, "", flow, '"')
    except Unsafe:
        return
    doc = f"k: [{text}]\n" if flow else f"k: {text}\n"
    assert yaml.safe_load(doc) == {"k": [value] if flow else value}, doc
