"""One mistake gives one error: nothing downstream repeats it."""

from __future__ import annotations

from pathlib import Path

from .conftest import Store


def test_an_unreadable_file_does_not_turn_into_reference_errors(full_store: Store) -> None:
    # the plan lives in its own file, and that file has a syntax error
    base = (full_store.root / "base.yaml").read_text()
    plan = base[base.index("service_plans:") : base.index("sales_categories:")]
    full_store.write("base.yaml", base.replace(plan, ""))
    full_store.write("plans.yaml", plan.replace('recurring: "10"}', 'recurring: "10"'))
    lines = full_store.lines()
    assert [line.split(" ")[1] for line in lines] == ["SC101"], lines
    assert lines[0].startswith("s/plans.yaml:")


def test_a_broken_var_file_is_the_only_error(store: Store, tmp_path: Path) -> None:
    store.write(
        "store.yaml",
        "apiVersion: storecfg/v1\nstore: {id: '{{ vars.id }}', name: '{{ vars.name }}', currency: USD}\n",
    )
    varfile = tmp_path / "vars.yaml"
    varfile.write_text("id: shop\n\tname: Shop\n")
    lines = store.lines(var_files=[varfile])
    assert lines == [
        "vars.yaml:2:1: SC103 -: tab character used for indentation; YAML indents with spaces"
    ]


def test_a_missing_included_file_is_an_error_an_empty_glob_a_warning(full_store: Store) -> None:
    full_store.write(
        "store.yaml",
        "apiVersion: storecfg/v1\nstore: {id: test-store, name: Test Store, currency: USD}\n"
        'include: ["base.yaml", "bse.yaml", "extra/*.yaml"]\n',
    )
    assert full_store.lines() == [
        "s/store.yaml:3:24: SC111 include[1]: included file 'bse.yaml' does not exist; "
        "did you mean 'base.yaml'?",
        "s/store.yaml:3:36: SC108 include[2]: warning: include 'extra/*.yaml' matches no file",
    ]


def test_a_trailing_newline_does_not_slip_through_a_pattern(store: Store) -> None:
    # Python's $ also matches before a final newline; JSON Schema's (ECMA's) does not
    store.write("t.yaml", 'skus:\n  - {id: "aaa\\n", name: A, vendor: V, source: custom}\n')
    store.write(
        "u.yaml", 'terms:\n  - {id: t, title: T, version: "1", url: "https://example.com/t\\n"}\n'
    )
    codes = [line.split(" ")[1] for line in store.lines()]
    assert codes == ["SC306", "SC304"], store.lines()
