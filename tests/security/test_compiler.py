"""Findings of a security review and of outside test suites against the definition
compiler, one regression test (or more) each: every one is refused with a precise
error (file:line:col, a stable code), never a traceback, never "valid" by accident.

1. include patterns: I/O errors, `**` blow-up, symbolic link loops, a store.yaml that
   links outside, the compile cache;
2. aliases of long strings, and long values quoted in messages;
3. template compiling: deadline, source size, tokens, number of shapes; quadratic
   str methods;
4. YAML: anchors libyaml cuts short, tabs that do not indent, the 64-bit integer range;
5. fastcheck: JSON equality, $ref cycles, boolean and array-pointer refs, keywords beside
   $ref, float subclasses;
6. `--var` gives strings, `--var-json` typed values;
7. the nesting limit does not depend on PyYAML's own.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from compiler.conftest import BASE_YAML, STORE_YAML, Store
from storecfg.cli import cli
from storecfg.compiler import cache as cache_mod
from storecfg.compiler import includes, load
from storecfg.compiler.cache import compile_cached
from storecfg.compiler.load import load_bytes
from storecfg.compiler.render import make_renderer
from storecfg.compiler.sandbox import budget, strings
from storecfg.compiler.sandbox.problem import TemplateProblem
from storecfg.errors import MAX_MESSAGE_CHARS
from storecfg.model import KINDS
from storecfg.spec import fastcheck
from storecfg.spec.schemas import raw_schema
from storecfg.spec.validation import _validator
from storecfg.spec.yaml12 import MAX_INT, MIN_INT, SourceFloat

DATA = Path(__file__).resolve().parents[1] / "data"
SKU = "skus:\n  - {id: a, name: %s, vendor: V, source: custom}\n"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.chdir(tmp_path)
    s = Store(tmp_path / "s")
    s.write("store.yaml", STORE_YAML)
    return s


def errors(store: Store, **kwargs: Any) -> list[str]:
    result = store.compile(**kwargs)
    assert result.desired is None
    return [d.format() for d in result.errors]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STORECFG_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "storecfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "NO_COLOR": "1"},
    )


class FailingScandir:
    """os.scandir for the include walk, failing with `error` for one directory."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, error: OSError) -> None:
        self.name = name
        self.error = error
        self.calls: list[str] = []
        self.real = os.scandir
        monkeypatch.setattr(includes.os, "scandir", self)

    def __call__(self, path: str) -> Any:
        self.calls.append(path)
        if os.path.basename(path) == self.name:
            raise self.error
        return self.real(path)


CATALOG_STORE = STORE_YAML.replace('["*.yaml"]', '["catalog/*.yaml", "storefront.yaml"]')


def catalog_store(store: Store) -> Store:
    """A valid store whose SKUs live in catalog/ (the rest in storefront.yaml)."""
    store.write("store.yaml", CATALOG_STORE)
    skus, rest = BASE_YAML.split("resource_categories:", 1)
    store.write("catalog/skus.yaml", skus)
    store.write("storefront.yaml", "resource_categories:" + rest)
    assert store.compile().ok
    return store


# ------------------------------------------------------------------ 1. include patterns


def test_unreadable_include_directory_is_an_error_not_no_files(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_store(store)
    FailingScandir(monkeypatch, "catalog", PermissionError(errno.EACCES, "Permission denied"))
    assert errors(store) == [
        "s/store.yaml:3:11: SC112 include[0]: include 'catalog/*.yaml': cannot read directory "
        "s/catalog: permission denied",
    ]


def test_io_error_while_listing_is_an_error(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog_store(store)
    FailingScandir(monkeypatch, "catalog", OSError(errno.EIO, "Input/output error"))
    assert errors(store) == [
        "s/store.yaml:3:11: SC112 include[0]: include 'catalog/*.yaml': cannot read directory "
        "s/catalog: input/output error",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_directory_without_read_permission(store: Store) -> None:
    catalog_store(store)
    (store.root / "catalog").chmod(0)
    try:
        assert errors(store) == [
            "s/store.yaml:3:11: SC112 include[0]: include 'catalog/*.yaml': cannot read "
            "directory s/catalog: permission denied",
        ]
    finally:
        (store.root / "catalog").chmod(0o755)


def test_plan_refuses_instead_of_deleting_what_an_unreadable_directory_holds(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_store(store)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    runner = CliRunner()
    applied = runner.invoke(cli, ["apply", "s", "--store", url, "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    again = runner.invoke(cli, ["plan", "s", "--store", url, "--detailed-exitcode"])
    assert again.exit_code == 0, again.output  # the compile cache is warm now
    FailingScandir(monkeypatch, "catalog", PermissionError(errno.EACCES, "Permission denied"))
    result = runner.invoke(cli, ["plan", "s", "--store", url, "--detailed-exitcode"])
    assert result.exit_code == 1
    assert "SC112 include[0]" in result.stderr
    assert "delete" not in result.stdout + result.stderr
    assert "Traceback" not in result.output


def test_a_directory_turned_into_a_link_loop_is_refused_by_the_real_cli_and_server(
    tmp_path: Path,
) -> None:
    """From outside: apply to the reference server, break the catalog directory (a link
    loop: root can read anything, nobody can read that), plan: refused, nothing deleted."""
    from support.server import running_server

    work = tmp_path / "work"
    store = Store(work / "s")
    catalog_store_files(store)
    (tmp_path / "server").mkdir()
    with running_server(tmp_path / "server") as server:
        env_file = server.env("test-store")
        applied = run_with(env_file, "apply", "s", "--auto-approve", cwd=work)
        assert applied.returncode == 0, applied.stderr
        catalog = store.root / "catalog"
        (catalog / "skus.yaml").rename(work / "skus.yaml")
        catalog.rmdir()
        catalog.symlink_to("catalog")
        planned = run_with(env_file, "plan", "s", "--detailed-exitcode", cwd=work)
        assert planned.returncode == 1
        assert planned.stdout == ""
        assert planned.stderr.splitlines()[0] == (
            "s/store.yaml:3:11: SC112 include[0]: include 'catalog/*.yaml': s/catalog is a "
            "symbolic link loop"
        )
        assert "Traceback" not in planned.stderr
        with server.client("test-store") as client:
            skus = client.get("/v1/stores/test-store/skus").json()["items"]
        assert [s["id"] for s in skus] == ["sku-a"]


def catalog_store_files(store: Store) -> None:
    store.write("store.yaml", CATALOG_STORE)
    skus, rest = BASE_YAML.split("resource_categories:", 1)
    store.write("catalog/skus.yaml", skus)
    store.write("storefront.yaml", "resource_categories:" + rest)


def run_with(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "STORECFG_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "storecfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **env, "NO_COLOR": "1"},
    )


def test_many_double_stars_list_each_directory_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = store.root
    for i in range(30):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "skus.yaml").write_text(SKU % "A")
    store.write("store.yaml", STORE_YAML.replace('"*.yaml"', '"**/**/**/**/**/**/*.yaml"'))
    spy = FailingScandir(monkeypatch, "-none-", OSError())
    result = store.compile()
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.desired is not None and list(result.desired.resources["skus"]) == ["a"]
    assert len(spy.calls) == len(set(spy.calls)) == 31  # s/ and its 30 nested directories


def test_a_walk_over_too_many_entries_is_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(includes, "MAX_ENTRIES", 20)
    for i in range(25):
        store.write(f"many/f{i}.txt", "")
    store.write("store.yaml", STORE_YAML.replace('"*.yaml"', '"**/*.yaml"'))
    assert errors(store) == [
        "s/store.yaml:3:11: SC113 include[0]: include '**/*.yaml': the store directory holds "
        "more than 20 files and directories where the include patterns look; narrow the "
        "patterns or move other files out of the store directory",
    ]


def test_a_symbolic_link_loop_met_in_a_glob_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    store.write("skus.yaml", SKU % "A")
    (store.root / "loop.yaml").symlink_to("loop.yaml")
    expected = (
        "s/store.yaml:3:11: SC112 include[0]: include '*.yaml': s/loop.yaml is a symbolic link loop"
    )
    assert errors(store) == [expected]
    proc = run_cli("validate", "s", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [expected]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_a_link_to_nothing_is_an_error(store: Store) -> None:
    (store.root / "gone.yaml").symlink_to("nowhere.yaml")
    assert errors(store) == [
        "s/store.yaml:3:11: SC112 include[0]: include '*.yaml': s/gone.yaml is a symbolic link "
        "to a missing file",
    ]


def test_a_missing_file_is_suggested_even_with_a_link_loop_beside_it(store: Store) -> None:
    store.write("catalog.yaml", SKU % "A")
    (store.root / "sub").mkdir()
    (store.root / "sub" / "loop").symlink_to("loop")
    store.write("store.yaml", STORE_YAML.replace('"*.yaml"', '"catalg.yaml"'))
    assert errors(store) == [
        "s/store.yaml:3:11: SC111 include[0]: included file 'catalg.yaml' does not exist; "
        "did you mean 'catalog.yaml'?",
    ]


def test_a_symlinked_store_yaml_cannot_escape_the_store_directory(
    store: Store, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "store.yaml").write_text(STORE_YAML)
    (outside / "secret.yaml").write_text(SKU % "Secret")
    (store.root / "store.yaml").unlink()
    (store.root / "store.yaml").symlink_to(outside / "store.yaml")
    result = store.compile()
    assert [d.format() for d in result.diagnostics] == [
        "s/store.yaml:1:1: SC107 -: store.yaml links to elsewhere/store.yaml, outside the store "
        "directory; copy the file into the directory instead",
    ]
    assert result.desired is None


def test_a_symlinked_store_yaml_inside_the_directory_is_fine(store: Store) -> None:
    store.write("envs/prod.yaml", STORE_YAML)
    store.write("envs/skus.yaml", SKU % "A")
    (store.root / "store.yaml").unlink()
    (store.root / "store.yaml").symlink_to("envs/prod.yaml")
    result = store.compile()
    assert result.ok and result.desired is not None
    assert list(result.desired.resources["skus"]) == ["a"]


@pytest.mark.parametrize("breakage", ["loop", "unreadable"])
def test_the_compile_cache_takes_include_problems_as_stale(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, breakage: str
) -> None:
    catalog_store(store)
    cache_dir = tmp_path / "cache"
    assert compile_cached(store.root, cache_dir=cache_dir).ok
    assert cache_mod.load_entry(next(cache_dir.glob("*.json"))) is not None  # warm
    if breakage == "loop":
        (store.root / "catalog" / "loop.yaml").symlink_to("loop.yaml")
        message = "s/catalog/loop.yaml is a symbolic link loop"
    else:
        FailingScandir(monkeypatch, "catalog", PermissionError(errno.EACCES, "Permission denied"))
        message = "cannot read directory s/catalog: permission denied"
    assert cache_mod.load_entry(next(cache_dir.glob("*.json"))) is None
    result = compile_cached(store.root, cache_dir=cache_dir)
    assert [d.format() for d in result.errors] == [
        f"s/store.yaml:3:11: SC112 include[0]: include 'catalog/*.yaml': {message}"
    ]


# ------------------------------------------------------------------ 2. aliases, long values


def vars_store(copies: int) -> str:
    big = "y" * (1024 * 1024 - 100)
    return STORE_YAML + f"vars:\n  big: &b {big}\n  copies: [" + ", ".join(["*b"] * copies) + "]\n"


@pytest.mark.parametrize("copies", [1000, 5000])
def test_aliases_are_charged_by_the_size_of_what_they_copy(store: Store, copies: int) -> None:
    store.write("store.yaml", vars_store(copies))
    assert errors(store) == [
        "s/store.yaml:6:28: SC104 -: aliases expand to more than 4,194,304 characters; "
        "write long values once",
    ]


def test_a_few_aliases_of_a_long_string_are_fine(store: Store) -> None:
    store.write("store.yaml", vars_store(3))
    assert store.compile().ok


def test_aliased_mappings_count_their_keys_and_strings(store: Store) -> None:
    key, value = "k" * 600_000, "v" * 300_000  # 5 copies: 1.5 M characters of values
    text = f"a: &a\n  ? {key}\n  : {value}\nb: [{', '.join(['*a'] * 5)}]\n"
    loaded = load_bytes(text.encode(), "t.yaml")
    assert [d.format() for d in loaded.diagnostics] == [
        "t.yaml:4:21: SC104 -: aliases expand to more than 4,194,304 characters; "
        "write long values once",
    ]


LONG = "q" * 200_000


@pytest.mark.parametrize(
    ("name", "files", "store_yaml"),
    [
        ("unknown field", {"t.yaml": SKU.replace("source", f"{LONG}: 1, source") % "A"}, None),
        ("invalid ID", {"t.yaml": SKU.replace("id: a", f"id: {LONG}") % "A"}, None),
        ("duplicate key", {"t.yaml": f"{LONG}: 1\n{LONG}: 2\n"}, None),
        ("unknown kind", {"t.yaml": f"{LONG}: []\n"}, None),
        ("include", {}, STORE_YAML.replace('"*.yaml"', f'"{LONG}.yaml"')),
        ("enum", {"t.yaml": SKU.replace("custom", LONG) % "A"}, None),
        ("long number", {"t.yaml": SKU % ("1." + "0" * 100_000)}, None),
        ("template key", {"t.yaml": SKU % f"\"{{{{ vars['{LONG}'] }}}}\""}, None),
        ("rate", {"t.yaml": f"tax_rules:\n  - {{id: r, region: US, rate: '{LONG}'}}\n"}, None),
        ("anchor", {"t.yaml": f"a: &{LONG}:x 1\n"}, None),
    ],
)
def test_messages_quote_only_a_short_prefix_of_a_value(
    store: Store, name: str, files: dict[str, str], store_yaml: str | None
) -> None:
    if store_yaml:
        store.write("store.yaml", store_yaml)
    for file, text in files.items():
        store.write(file, text)
    diagnostics = store.compile().diagnostics
    assert diagnostics, name
    for diagnostic in diagnostics:
        assert len(diagnostic.message) <= MAX_MESSAGE_CHARS
        assert "q" * 41 not in diagnostic.message and "0" * 41 not in diagnostic.message


# ------------------------------------------------------------------ 3. templates


def test_a_template_over_64_kib_is_refused(store: Store) -> None:
    store.write("t.yaml", SKU % ('"{{ vars.x }}' + "x" * (64 * 1024) + '"'))
    assert errors(store) == [
        "s/t.yaml:2:19: SC206 skus.a.name: template is 65,548 characters; the limit is 65,536",
    ]


def test_a_template_of_too_many_tokens_is_refused(store: Store) -> None:
    store.write("store.yaml", STORE_YAML + "vars: {x: 1}\n")
    store.write("t.yaml", SKU % ('"' + "{% if vars.x %}a{% endif %}" * 300 + '"'))
    assert errors(store) == [
        "s/t.yaml:2:19: SC206 skus.a.name: template has more than 2,000 parts (names, "
        "operators, values, text); split it or move data into variables",
    ]


def test_too_many_different_templates_are_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "MAX_SHAPES", 3)
    store.write("store.yaml", STORE_YAML + "vars: {x: X}\n")
    names = ["{{ vars.x }}", "{{ vars.x | lower }}", "{{ vars.x | upper }}", "{{ vars.x | e }}"]
    store.write(
        "t.yaml",
        "skus:\n"
        + "".join(
            f'  - {{id: s{i}, name: "{n}", vendor: V, source: custom}}\n'
            for i, n in enumerate(names)
        ),
    )
    assert errors(store) == [
        "s/t.yaml:5:20: SC206 skus.s3.name: more than 3 different templates in one run; "
        "templates that differ only in literals, text and key names count once",
    ]


def test_templates_differing_in_text_literals_and_keys_compile_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    costs = {f"plan_{i}": f"{i}.00" for i in range(200)}
    renderer = make_renderer({"cost": costs, "brand": "Contoso", "markup": "1.10"})
    compiled: list[str] = []
    real = renderer.templates.compile_new

    def counting(source: str) -> Any:
        compiled.append(source)
        return real(source)

    monkeypatch.setattr(renderer.templates, "compile_new", counting)
    for i in range(200):
        name = f"{{{{ vars.brand }}}} plan {i}\n(line two)"
        assert renderer.render(name) == f"Contoso plan {i}\n(line two)"
        price = f"{{{{ (vars.cost.plan_{i} | decimal * vars.markup | decimal) | money }}}}"
        assert renderer.render(price) == f"{i * 1.1:.2f}"
    assert len(compiled) == 2


def test_compiling_runs_under_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = make_renderer({"x": 1})
    assert renderer.render("{{ vars.x + 1 }}") == 2
    renderer.budget.deadline = 0.0  # long past

    def never(source: str) -> Any:
        raise AssertionError("compiled after the deadline")

    monkeypatch.setattr(renderer.templates, "compile_new", never)
    with pytest.raises(TemplateProblem) as caught:
        renderer.render("{{ vars.x - 1 }}")
    assert (caught.value.code, caught.value.message) == (
        "SC204",
        "templates took more than 30 seconds in all",
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ vars.big.rfind(vars.needle) }}", -1),
        ("{{ vars.big.rsplit(vars.needle) | length }}", 1),
        ("{{ vars.big.rpartition(vars.needle)[0] | length }}", 0),
        ("{{ vars.big.rfind(vars.needle, 5, -5) }}", -1),
        ("{{ vars.big.strip(vars.chars) | length }}", 0),
        ("{{ vars.big | trim(vars.chars) | length }}", 0),
    ],
)
def test_reverse_searches_and_strip_take_linear_time(
    monkeypatch: pytest.MonkeyPatch, template: str, expected: Any
) -> None:
    """The quadratic cases of CPython's reverse search and strip: a long needle whose
    mismatch comes late, a long set of characters. They go through the linear versions."""
    size = 60_000
    variables = {
        "big": "a" * size,
        "needle": "ab" + "a" * (size // 2),
        "chars": "".join(chr(0x100 + i) for i in range(size // 2)) + "a",
    }
    used: list[str] = []
    real = strings.bounded_str_method

    def spy(owner: str, name: str, args: Any, kwargs: Any) -> Any:
        done = real(owner, name, args, kwargs)
        if done is not NotImplemented:
            used.append(name)
        return done

    monkeypatch.setattr(strings, "bounded_str_method", spy)
    assert make_renderer(variables).render(template) == expected
    assert used


# ------------------------------------------------------------------ 4. YAML


def suite_case(name: str) -> str:
    """The YAML of a yaml-test-suite case, its visible tabs and spaces made real."""
    case = yaml.safe_load((DATA / "yaml-test-suite" / f"{name}.yaml").read_text("utf-8"))[0]
    text: str = re.sub("—*»", "\t", case["yaml"]).replace("␣", " ")
    return text[:-2] if text.endswith("∎\n") else text


def test_an_anchor_libyaml_cuts_short_is_refused() -> None:
    """yaml-test-suite Y2GN: `&an:chor` is one anchor in YAML 1.2; libyaml reads the
    anchor `an` and the value ':chor value'. Refused, where it is."""
    loaded = load_bytes(suite_case("Y2GN").encode(), "t.yaml")
    assert loaded.data is None
    assert [d.format() for d in loaded.diagnostics] == [
        "t.yaml:2:6: SC110 -: anchor name '&an:chor' holds ':', which YAML readers split "
        "differently; use letters, digits, '-' and '_' (for example '&an-chor')",
    ]


@pytest.mark.parametrize(
    "text",
    ["a: [&x:y 1]\n", "- &a:b\n- x\n", "a: &x 1\nb: [*x:z]\n"],
)
def test_other_names_libyaml_cuts_at_a_colon_are_refused(text: str) -> None:
    codes = [d.code for d in load_bytes(text.encode(), "t.yaml").diagnostics]
    assert codes == ["SC110"]


def test_anchors_and_aliases_that_read_the_same_everywhere_are_fine() -> None:
    text = "a: &x-1 {k: v}\nb: *x-1\nc: [&y 1, *y]\n*x-1 : 2\n"
    loaded = load_bytes(text.replace("*x-1 : 2\n", "d: {<<: *x-1}\n").encode(), "t.yaml")
    assert loaded.diagnostics == []
    assert loaded.data == {"a": {"k": "v"}, "b": {"k": "v"}, "c": [1, 1], "d": {"k": "v"}}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "6BCT",
            "t.yaml:3:4: SC101 -: found character that cannot start any token (a tab after "
            "'-'); separate with a space instead",
        ),
        (
            "A2M4",
            "t.yaml:2:4: SC101 -: found character that cannot start any token (a tab after "
            "'-'); separate with a space instead",
        ),
        (
            "96NN",
            "t.yaml:2:2: SC101 -: found a tab character where an indentation space is expected "
            "(in the block scalar that starts at line 1); storecfg's YAML reader cannot read a "
            'tab at the start of a line\'s text: write the value as a double-quoted string with "\\t"',
        ),
        (
            "R4YG",
            "t.yaml:10:2: SC101 -: found a tab character where an indentation space is expected "
            "(in the block scalar that starts at line 9); storecfg's YAML reader cannot read a "
            'tab at the start of a line\'s text: write the value as a double-quoted string with "\\t"',
        ),
    ],
)
def test_a_tab_that_does_not_indent_is_not_called_indentation(case: str, expected: str) -> None:
    """yaml-test-suite cases with tabs after '-' and inside block scalars: valid YAML that
    libyaml cannot read. The message says what libyaml found, not "tab used for
    indentation"."""
    loaded = load_bytes(suite_case(case).encode(), "t.yaml")
    assert [d.format() for d in loaded.diagnostics] == [expected]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("skus:\n\t- id: a\n", "2:1"),
        ("a:\n  b: 1\n\tc: 2\n", "3:1"),
        ("a:\n  - x\n \t- y\n", "3:2"),
        ("a: |\n\tx\n", "2:1"),
        ("a:\n  b: |\n \tx\n", "3:2"),
    ],
)
def test_a_tab_that_indents_is_still_called_indentation(text: str, where: str) -> None:
    assert [d.format() for d in load_bytes(text.encode(), "t.yaml").diagnostics] == [
        f"t.yaml:{where}: SC103 -: tab character used for indentation; YAML indents with spaces"
    ]


def test_integers_are_signed_64_bit_in_yaml() -> None:
    low, high = load_bytes(f"[{MIN_INT}, {MAX_INT}]".encode(), "t.yaml").data
    assert (low, high) == (-(2**63), 2**63 - 1)
    for text, message in [
        (str(MAX_INT + 1), "too large (the limit is 9,223,372,036,854,775,807)"),
        (str(MIN_INT - 1), "too small (the limit is -9,223,372,036,854,775,808)"),
    ]:
        diagnostics = load_bytes(f"a: {text}\n".encode(), "t.yaml").diagnostics
        assert [d.code for d in diagnostics] == ["SC110"]
        assert message in diagnostics[0].message


def test_a_float_past_the_integer_range_is_no_sort_order(store: Store) -> None:
    store.write("t.yaml", "resource_categories:\n  - {id: c, name: C, sort_order: 1e19}\n")
    assert errors(store) == [
        "s/t.yaml:2:34: SC304 resource_categories.c.sort_order: 1e19 is above the allowed "
        "maximum 9223372036854775807",
    ]


def integer_schemas() -> Iterator[tuple[str, str, dict[str, Any]]]:
    def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
                yield path, node
            for key, value in node.items():
                yield from walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{path}/{i}")

    for name in ["common", "store", "definition", *KINDS]:
        for path, node in walk(raw_schema(name), ""):
            yield name, path, node


def test_every_integer_in_the_schemas_has_both_bounds_within_64_bits() -> None:
    found = list(integer_schemas())
    assert len(found) >= 10
    for name, path, node in found:
        assert isinstance(node.get("minimum"), int), (name, path)
        assert isinstance(node.get("maximum"), int), (name, path)
        assert MIN_INT <= node["minimum"] <= node["maximum"] <= MAX_INT, (name, path)


def test_template_results_are_signed_64_bit() -> None:
    renderer = make_renderer({})
    assert renderer.render("{{ -9223372036854775807 - 1 }}") == MIN_INT
    with pytest.raises(TemplateProblem, match="under the smallest whole number"):
        renderer.render("{{ -9223372036854775807 - 2 }}")


# ------------------------------------------------------------------ 5. fastcheck


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"enum": [[False]]}, [0]),
        ({"enum": [[0]]}, [False]),
        ({"enum": [{"a": True}]}, {"a": 1}),
        ({"const": [1]}, [True]),
        ({"const": {"a": [0]}}, {"a": [False]}),
        ({"uniqueItems": True, "items": True}, [[1], [True]]),
    ],
)
def test_json_equality_keeps_booleans_and_numbers_apart_at_any_depth(
    schema: dict[str, Any], instance: Any
) -> None:
    expected = _validator_for(schema).is_valid(instance)
    assert fastcheck.compile_schema(schema)(instance) is expected
    if "uniqueItems" not in schema:
        assert expected is False


def _validator_for(schema: dict[str, Any]) -> Any:
    from storecfg.spec.validation import _validator_class

    return _validator_class()(schema)


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
        {"anyOf": [{"$ref": "#/anyOf/0"}]},
    ],
)
def test_a_ref_cycle_is_delegated_not_a_hang(schema: dict[str, Any]) -> None:
    with pytest.raises(fastcheck.Unsupported) as caught:
        fastcheck.compile_schema(schema)
    assert caught.value.keyword == fastcheck.REF_CYCLE


def test_a_recursive_schema_through_the_instance_is_checked() -> None:
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": False}
    check = fastcheck.compile_schema(tree)
    assert check({"child": {"child": {}}}) is True
    assert check({"child": {"child": {"other": 1}}}) is False


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"$defs": {"t": True}, "$ref": "#/$defs/t"}, 1, True),
        ({"$defs": {"f": False}, "$ref": "#/$defs/f"}, 1, False),
        (
            {"anyOf": [{"type": "string"}], "properties": {"a": {"$ref": "#/anyOf/0"}}},
            {"a": 1},
            False,
        ),
        ({"$defs": {"a~b/c%": {"type": "integer"}}, "$ref": "#/$defs/a~0b~1c%25"}, "x", False),
        ({"$defs": {"s": {"maxLength": 2}}, "$ref": "#/$defs/s", "maxLength": 5}, "abcd", False),
        ({"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s", "type": "integer"}, 3, False),
    ],
)
def test_refs_to_booleans_and_array_items_and_siblings_of_ref(
    schema: dict[str, Any], instance: Any, valid: bool
) -> None:
    assert _validator_for(schema).is_valid(instance) is valid
    assert fastcheck.compile_schema(schema)(instance) is valid


def test_a_float_from_the_yaml_loader_is_a_number() -> None:
    assert fastcheck.compile_schema({"maximum": 5})(SourceFloat("7.5")) is False
    assert fastcheck.compile_schema({"type": "number"})(SourceFloat("7.5")) is True
    assert fastcheck.compile_schema({"type": "integer"})(SourceFloat("2.0")) is True
    spec = {"id": "c", "name": "C", "sort_order": SourceFloat("1e19")}
    assert fastcheck.is_valid("resource_categories", spec) is False
    assert _validator("resource_categories.schema.json").is_valid(spec) is False


def test_every_kind_is_compiled_by_fastcheck() -> None:
    for kind in KINDS:
        fastcheck.compile_schema(raw_schema(kind), fastcheck._storecfg_schema, kind)


# ------------------------------------------------------------------ 6. --var and --var-json

PRICED = """\
skus:
  - {id: k, name: K, vendor: V, source: custom}
service_plans:
  - id: p
    name: P
    sku: k
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: month}
    price: {recurring: "{{ vars.e1_price }}"}
    published: false
    resources:
      - {id: u, name: U, unit: user, max: "{{ vars.seats }}", price: {recurring: "1.00"}}
"""


def test_var_values_are_strings_as_written(store: Store, tmp_path: Path) -> None:
    store.write("t.yaml", PRICED)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["compile", "s", "--var", "e1_price=9.50", "--var-json", "seats=300"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["resources"]["service_plans"]["p"]
    assert plan["price"]["recurring"] == "9.50"
    assert plan["resources"][0]["max"] == 300
    untyped = runner.invoke(cli, ["validate", "s", "--var", "e1_price=9.50", "--var", "seats=300"])
    assert untyped.exit_code == 1
    assert untyped.stdout.splitlines() == [
        "s/t.yaml:12:43: SC303 service_plans.p.resources[0].max: expected a whole number, got "
        "the string '300'",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--var-json", "seats=ten"],
            "Error: --var-json seats: not JSON (Expecting value at character 1); a string "
            "needs double quotes, or use --var seats=VALUE",
        ),
        (
            ["--var-json", "seats=NaN"],
            "Error: --var-json seats: not JSON (NaN is not a JSON number); a string needs "
            "double quotes, or use --var seats=VALUE",
        ),
        (
            ["--var-json", "seats=99999999999999999999"],
            "Error: --var-json seats: whole number '99999999999999999999' is outside "
            "-9,223,372,036,854,775,808 to 9,223,372,036,854,775,807",
        ),
        (
            ["--var-json", "seats=" + "[" * 70 + "]" * 70],
            "Error: --var-json seats: nested deeper than 64 levels",
        ),
        (
            ["--var-json", "seats"],
            "Error: --var-json needs KEY=JSON with KEY a variable name, got 'seats'",
        ),
        (
            ["--var", "seats=1", "--var-json", "seats=1"],
            "Error: variable seats is set with both --var and --var-json; set it once",
        ),
    ],
)
def test_bad_var_json_is_a_usage_error(store: Store, args: list[str], message: str) -> None:
    store.write("t.yaml", PRICED)
    result = CliRunner().invoke(cli, ["validate", "s", "--var", "e1_price=1.00", *args])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message]


def test_var_json_from_the_real_cli(store: Store, tmp_path: Path) -> None:
    store.write("t.yaml", PRICED)
    proc = run_cli(
        "validate", "s", "--var", "e1_price=9.50", "--var-json", "seats=300", cwd=tmp_path
    )
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr == "s: valid (2 resources in 2 files)\n"


def test_var_json_is_part_of_the_compile_cache_key(store: Store, tmp_path: Path) -> None:
    store.write("t.yaml", PRICED)
    cache_dir = tmp_path / "cache"

    def seats(value: str) -> Any:
        result = compile_cached(
            store.root,
            var_overrides=["e1_price=1.00"],
            var_json=[f"seats={value}"],
            cache_dir=cache_dir,
        )
        assert result.desired is not None
        return result.desired.resources["service_plans"]["p"]["resources"][0]["max"]

    assert [seats("10"), seats("20"), seats("10")] == [10, 20, 10]


# ------------------------------------------------------------------ 7. nesting and PyYAML


REAL_PARSER = load._Parser


class EarlyLimitParser:
    """A libyaml parser that, like newer releases, gives up on deep nesting while reading
    ahead (here: at the 200th '['), before handing out the events our own limit counts."""

    def __init__(self, text: str) -> None:
        self.inner = REAL_PARSER(text) if REAL_PARSER is not None else yaml.SafeLoader(text)
        self.limit = 3 + 200 if text.startswith("x: " + "[" * 200) and len(text) > 203 else -1

    def get_event(self) -> Any:
        if self.limit >= 0:
            mark = yaml.Mark("t.yaml", self.limit, 0, self.limit, None, None)
            raise yaml.scanner.ScannerError(
                "while increasing flow level", mark, "some library limit", mark
            )
        return self.inner.get_event()

    def dispose(self) -> None:
        pass


def test_our_nesting_limit_wins_over_the_librarys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "_Parser", EarlyLimitParser)
    loaded = load_bytes(("x: " + "[" * 100_000).encode(), "t.yaml")
    assert [d.format() for d in loaded.diagnostics] == [
        "t.yaml:1:67: SC106 -: nesting is deeper than 64 levels"
    ]


def test_a_syntax_error_after_shallow_nesting_stays_a_syntax_error() -> None:
    loaded = load_bytes(b"x: [[[1]]]\ny: b: c\n", "t.yaml")
    assert [d.code for d in loaded.diagnostics] == ["SC101"]
