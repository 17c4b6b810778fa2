"""A corpus of bad store definitions: each is refused with exit 1, the right file, line,
column and code, and never a traceback.

Every case runs in-process (compile_store) and through the click command; a handful
also run the real CLI in a subprocess.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from storecfg.cli import cli
from storecfg.compiler.load import MAX_FILE_BYTES

from .conftest import STORE_YAML, Store, run_cli

SKU = "skus:\n  - {id: a, name: %s, vendor: V, source: custom}\n"
PLAN = """\
skus:
  - {id: k, name: K, vendor: V, source: custom}
service_plans:
  - id: p
    name: P
    sku: k
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: month}
    price: %s
    published: false
"""


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]
    expected: str
    args: list[str] = field(default_factory=list)
    store_yaml: str = STORE_YAML


TEMPLATE_CASES = [
    Case(
        "undefined-variable",
        {"t.yaml": SKU % '"{{ vars.nope }}"'},
        "s/t.yaml:2:19: SC201 skus.a.name: undefined variable vars.nope; set it under vars in "
        "store.yaml, in a --var-file or with --var nope=VALUE",
    ),
    Case(
        "bare-variable-name",
        {"t.yaml": SKU % '"{{ markup }}"'},
        "s/t.yaml:2:19: SC201 skus.a.name: undefined variable markup; did you mean vars.markup?",
        store_yaml=STORE_YAML + "vars: {markup: '1.15'}\n",
    ),
    Case(
        "dunder-class-mro",
        {"t.yaml": SKU % "\"{{ ''.__class__.__mro__ }}\""},
        "s/t.yaml:2:19: SC202 skus.a.name: not allowed in templates: attribute "
        "'__class__' of a text value",
    ),
    Case(
        "repeat-a-billion",
        {"t.yaml": SKU % "\"{{ 'x' * 10**9 }}\""},
        "s/t.yaml:2:19: SC204 skus.a.name: repeating a value 1,000,000,000 times is over the "
        "size limit",
    ),
    Case(
        "ljust-a-billion",
        {"t.yaml": SKU % "\"{{ 'x'.ljust(10**9) }}\""},
        "s/t.yaml:2:19: SC202 skus.a.name: not allowed in templates: attribute "
        "'ljust' of a text value",
    ),
    Case(
        "format-padding",
        {"t.yaml": SKU % "\"{{ '{:>999999999}'.format('x') }}\""},
        "s/t.yaml:2:19: SC202 skus.a.name: not allowed in templates: attribute "
        "'format' of a text value",
    ),
    Case(
        "for-loop",
        {"t.yaml": SKU % '"{% for i in [1, 2] %}x{% endfor %}"'},
        "s/t.yaml:2:19: SC202 skus.a.name: 'for' blocks are not allowed in templates; "
        "only expressions and if",
    ),
    Case(
        "percent-formatting",
        {"t.yaml": SKU % "\"{{ '%s' % vars.x }}\""},
        "s/t.yaml:2:19: SC202 skus.a.name: '%' string formatting is not allowed; "
        "use ~ to join strings",
        store_yaml=STORE_YAML + "vars: {x: 1}\n",
    ),
    Case(
        "power-tower",
        {"t.yaml": SKU % '"{{ 2**64**64**64**64**64 }}"'},
        "s/t.yaml:2:19: SC204 skus.a.name: a number in the template is over 256 bits",
    ),
    Case(
        "nested-tojson",
        {"t.yaml": SKU % ("\"{{ '<'" + "|tojson" * 40 + ' }}"')},
        "s/t.yaml:2:19: SC204 skus.a.name: template builds more than 1,048,576 characters "
        "of values on the way",
    ),
    Case(
        "concat-chain",
        {"t.yaml": SKU % ('"{{ ' + " ~ ".join(["('x'*60000)"] * 40) + ' }}"')},
        "s/t.yaml:2:19: SC204 skus.a.name: template builds more than 1,048,576 characters "
        "of values on the way",
    ),
    Case(
        "batch-filter",
        {"t.yaml": SKU % "\"{{ 'a'|batch(10**9, 'x')|list }}\""},
        "s/t.yaml:2:19: SC202 skus.a.name: filter 'batch' is not allowed in templates",
    ),
    Case(
        "decimal-to-huge-int",
        {"t.yaml": SKU % "\"{{ '1e999999'|decimal|int }}\""},
        "s/t.yaml:2:19: SC204 skus.a.name: '1e999999' is too large a number",
    ),
    Case(
        "mutate-vars",
        {"t.yaml": SKU % '"{{ vars.l.append(1) }}"'},
        "s/t.yaml:2:19: SC202 skus.a.name: not allowed in templates: attribute "
        "'append' of a list value",
        store_yaml=STORE_YAML + "vars: {l: [1]}\n",
    ),
    Case(
        "misspelt-filter",
        {"t.yaml": SKU % "\"{{ '8'|monye }}\""},
        "s/t.yaml:2:19: SC203 skus.a.name: unknown filter 'monye'; did you mean 'money'?",
    ),
    Case(
        "template-syntax",
        {"t.yaml": SKU % '"{{ 1 + }}"'},
        "s/t.yaml:2:19: SC203 skus.a.name: unexpected 'end of print statement'",
    ),
    Case(
        "template-nesting",
        {"t.yaml": SKU % ('"{{ ' + "(" * 900 + "1" + ")" * 900 + ' }}"')},
        "s/t.yaml:2:19: SC203 skus.a.name: template nests too deeply",
    ),
    Case(
        "template-infinity",
        {"t.yaml": SKU % '"{{ 1e999 }}"'},
        "s/t.yaml:2:19: SC203 skus.a.name: number is too large",
    ),
    Case(
        "template-syntax-in-block",
        {
            "t.yaml": "skus:\n  - id: a\n    vendor: V\n    source: custom\n    name: |\n"
            "      first line\n      {% if vars.x %}\n      {{ vars.x + }}\n      {% endif %}\n"
        },
        "s/t.yaml:8:1: SC203 skus.a.name: unexpected 'end of print statement'",
        store_yaml=STORE_YAML + "vars: {x: 1}\n",
    ),
]

YAML_CASES = [
    Case(
        "syntax-error",
        {"t.yaml": "skus:\n  - id: a\n    name: b: c\n"},
        "s/t.yaml:3:12: SC101 -: mapping values are not allowed in this context; "
        "put quotes around a value that contains ': '",
    ),
    Case(
        "bad-indentation",
        {"t.yaml": "skus:\n  - id: a\n   name: b\n"},
        "s/t.yaml:3:4: SC101 -: did not find expected '-' indicator; "
        "check the indentation of this line",
    ),
    Case(
        "at-sign",
        {"t.yaml": "skus:\n  - id: a\n    name: @contoso\n"},
        "s/t.yaml:3:11: SC101 -: found character that cannot start any token; "
        "put quotes around a value that starts with @, ` or %",
    ),
    Case(
        "unclosed-bracket",
        {"t.yaml": "skus:\n  - id: a\n    name: [x\n"},
        "s/t.yaml:3:11: SC101 -: '[' is never closed",
    ),
    Case(
        "unclosed-quote",
        {"t.yaml": 'skus:\n  - id: a\n    name: "abc\n\n'},
        "s/t.yaml:3:11: SC101 -: quoted string is never closed",
    ),
    Case(
        "duplicate-key",
        {"t.yaml": "skus:\n  - id: a\n    name: b\n    id: c\n"},
        "s/t.yaml:4:5: SC102 -: duplicate key 'id' (first defined at line 2)",
    ),
    Case(
        "tab-indentation",
        {"t.yaml": "skus:\n\t- id: a\n"},
        "s/t.yaml:2:1: SC103 -: tab character used for indentation; YAML indents with spaces",
    ),
    Case(
        "billion-laughs",
        {"t.yaml": billion_laughs()},
        's/t.yaml:6:10: SC104 -: aliases expand to more than 100,000 values (a "billion '
        'laughs" file?)',
    ),
    Case(
        "self-alias",
        {"t.yaml": "skus: &x\n  - *x\n"},
        "s/t.yaml:2:5: SC104 -: alias *x refers to itself",
    ),
    Case(
        "deep-sequences",
        {"t.yaml": "x: " + "[" * 100_000},
        "s/t.yaml:1:67: SC106 -: nesting is deeper than 64 levels",
    ),
    Case(
        "deep-mappings",
        {"t.yaml": "x: " + "{a: " * 100_000},
        "s/t.yaml:1:256: SC106 -: nesting is deeper than 64 levels",
    ),
    Case(
        "long-string",
        {"t.yaml": "x: " + "y" * (1024 * 1024 + 1) + "\n"},
        "s/t.yaml:1:4: SC105 -: a string of 1,048,577 characters is over the limit",
    ),
    Case(
        "multiple-documents",
        {"t.yaml": "skus: []\n---\nskus: []\n"},
        "s/t.yaml:2:1: SC110 -: a file holds one YAML document; found a second '---'",
    ),
    Case(
        "python-tag",
        {"t.yaml": "skus: !!python/object/apply:os.system [ls]\n"},
        "s/t.yaml:1:7: SC110 -: unsupported tag '!!python/object/apply:os.system'",
    ),
    Case(
        "number-key",
        {"t.yaml": "skus:\n  - 1: x\n"},
        "s/t.yaml:2:5: SC110 -: mapping key 1 must be a string; quote it",
    ),
    Case(
        "huge-integer",
        {"t.yaml": SKU % ("9" * 5000)},
        "s/t.yaml:2:19: SC110 -: number 999999999999...999999999999 is too large "
        "(the limit is 9,223,372,036,854,775,807); quote it if it is text",
    ),
    Case(
        "control-character",
        {"t.yaml": "skus:\n  - id: a\n    name: b\x01\n"},
        "s/t.yaml:3:12: SC101 -: character U+0001 is not allowed in YAML (control characters "
        "are not allowed); write it as an escape in a double-quoted string",
    ),
    Case(
        "not-utf8",
        {"t.yaml": b"skus:\n  - id: a\n    name: caf\xe9\n"},
        "s/t.yaml:3:14: SC109 -: file is not UTF-8 (byte 0xe9 cannot be read); save it as UTF-8",
    ),
    Case(
        "list-file",
        {"t.yaml": "- id: a\n- id: b\n"},
        "s/t.yaml:1:1: SC303 -: an included file must be a mapping of resource kinds "
        "(service_plans, skus, ...) to lists",
    ),
    Case(
        "scalar-file",
        {"t.yaml": "just some text\n"},
        "s/t.yaml:1:1: SC303 -: an included file must be a mapping of resource kinds "
        "(service_plans, skus, ...) to lists",
    ),
    Case(
        "empty-store-yaml",
        {},
        "s/store.yaml:1:1: SC303 -: store.yaml is empty; it must be a mapping with apiVersion "
        "and store",
        store_yaml="# nothing here\n",
    ),
    Case(
        "list-store-yaml",
        {},
        "s/store.yaml:1:1: SC303 -: store.yaml must be a mapping with apiVersion and store",
        store_yaml="- apiVersion: storecfg/v1\n",
    ),
]

SCHEMA_CASES = [
    Case(
        "float-money",
        {"t.yaml": PLAN % "{recurring: 8.5}"},
        "s/t.yaml:9:24: SC305 service_plans.p.price.recurring: an amount must be a quoted "
        'decimal string such as "8.00", not the number 8.5 (numbers lose cents); write "8.5"',
    ),
    Case(
        "negative-price",
        {"t.yaml": PLAN % '{recurring: "-1.00"}'},
        "s/t.yaml:9:24: SC305 service_plans.p.price.recurring: amount '-1.00' is negative; "
        "prices are never negative",
    ),
    Case(
        "not-an-amount",
        {"t.yaml": PLAN % '{recurring: "8,50"}'},
        "s/t.yaml:9:24: SC305 service_plans.p.price.recurring: amount '8,50' is not a decimal "
        'string such as "8.00"',
    ),
    Case(
        "too-many-decimals",
        {"t.yaml": PLAN % '{recurring: "8.505"}'},
        "s/t.yaml:9:24: SC017 service_plans.p.price.recurring: amount '8.505' has 3 decimal places; "
        "USD allows 2",
    ),
    Case(
        "unknown-field",
        {"t.yaml": "skus:\n  - {id: a, name: A, vendor: V, source: custom, descripton: D}\n"},
        "s/t.yaml:2:49: SC301 skus.a.descripton: unknown field 'descripton'; "
        "did you mean 'description'?",
    ),
    Case(
        "bad-id",
        {"t.yaml": SKU.replace("id: a", "id: Bad_ID") % "A"},
        "s/t.yaml:2:10: SC306 skus[0].id: invalid ID 'Bad_ID': use lowercase letters, digits, "
        "'.', '_' and '-', start with a letter or digit, at most 63 characters",
    ),
    Case(
        "unknown-kind",
        {"t.yaml": "skuz:\n  - {id: a}\n"},
        "s/t.yaml:1:1: SC301 skuz: unknown resource kind 'skuz'; did you mean 'skus'?",
    ),
    Case(
        "name-too-long",
        {"t.yaml": SKU % ("N" * 300)},
        "s/t.yaml:2:19: SC304 skus.a.name: is 300 characters long; at most 250 characters allowed",
    ),
    Case(
        "empty-list",
        {"t.yaml": "payment_methods:\n  - {id: c, type: credit_card, regions: []}\n"},
        "s/t.yaml:2:41: SC304 payment_methods.c.regions: must not be empty",
    ),
    Case(
        "kind-not-a-list",
        {"t.yaml": "skus: {id: a}\n"},
        "s/t.yaml:1:7: SC303 skus: skus must be a list of resources",
    ),
    Case(
        "unknown-store-key",
        {},
        "s/store.yaml:4:1: SC301 includes: unknown key 'includes'; did you mean 'include'?",
        store_yaml=STORE_YAML + "includes: []\n",
    ),
    Case(
        "region-no-is-a-string",
        {"t.yaml": "payment_methods:\n  - {id: c, type: ach, regions: [NO]}\n"},
        "s/t.yaml:2:34: SC008 payment_methods.c.regions[0]: ACH is only available in the US, "
        "not in NO",
    ),
]

INCLUDE_CASES = [
    Case(
        "dotdot-include",
        {},
        "s/store.yaml:3:11: SC107 include[0]: include '../outside.yaml' leaves the store "
        "directory; patterns are relative to store.yaml and may not use '..'",
        store_yaml=STORE_YAML.replace('"*.yaml"', '"../outside.yaml"'),
    ),
    Case(
        "nested-dotdot-include",
        {},
        "s/store.yaml:3:11: SC107 include[0]: include 'sub/../../outside.yaml' leaves the "
        "store directory; patterns are relative to store.yaml and may not use '..'",
        store_yaml=STORE_YAML.replace('"*.yaml"', '"sub/../../outside.yaml"'),
    ),
    Case(
        "absolute-include",
        {},
        "s/store.yaml:3:11: SC107 include[0]: include '/etc/passwd' leaves the store "
        "directory; patterns are relative to store.yaml and may not use '..'",
        store_yaml=STORE_YAML.replace('"*.yaml"', '"/etc/passwd"'),
    ),
    Case(
        "home-include",
        {},
        "s/store.yaml:3:11: SC107 include[0]: include '~/x.yaml' leaves the store "
        "directory; patterns are relative to store.yaml and may not use '..'",
        store_yaml=STORE_YAML.replace('"*.yaml"', '"~/x.yaml"'),
    ),
]

CASES = TEMPLATE_CASES + YAML_CASES + SCHEMA_CASES + INCLUDE_CASES


def setup_case(store: Store, case: Case) -> str:
    """Write the case's files; returns the expected line."""
    store.write("store.yaml", case.store_yaml)
    (store.root.parent / "outside.yaml").write_text("skus: []\n")
    for name, content in case.files.items():
        path = store.root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_precise_error(store: Store, case: Case) -> None:
    expected = setup_case(store, case)
    started = time.process_time()
    result = store.compile()
    elapsed = time.process_time() - started
    assert [d.format() for d in result.errors] == [expected]
    assert result.desired is None
    assert elapsed < 1.0, f"{case.id} took {elapsed:.2f}s"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_through_the_command(store: Store, case: Case) -> None:
    expected = setup_case(store, case)
    result = CliRunner().invoke(cli, ["validate", "s"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert expected in result.stdout.splitlines()
    assert "Traceback" not in result.output
    assert result.stderr.endswith("s: invalid: 1 error\n")


def test_billion_laughs_is_refused_in_milliseconds(store: Store) -> None:
    store.write("t.yaml", billion_laughs())
    started = time.process_time()
    result = store.compile()
    assert time.process_time() - started < 0.5  # CPU seconds
    assert [d.code for d in result.diagnostics] == ["SC104"]


def test_file_over_the_size_limit_is_not_read(store: Store) -> None:
    path = store.root / "huge.yaml"
    with path.open("wb") as fh:  # sparse: no 32 MiB written
        fh.truncate(MAX_FILE_BYTES + 1)
    started = time.process_time()
    assert store.lines() == [
        "s/huge.yaml:1:1: SC105 -: file is 33,554,433 bytes; the limit is 33,554,432",
    ]
    assert time.process_time() - started < 0.5


def test_symlinked_file_escaping_the_store_is_refused(store: Store, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("skus:\n  - {id: leaked, name: L, vendor: V, source: custom}\n")
    (store.root / "evil.yaml").symlink_to(secret)
    result = store.compile()
    assert [d.format() for d in result.diagnostics] == [
        "s/store.yaml:3:11: SC107 include[0]: include '*.yaml' matches s/evil.yaml, which "
        "links outside the store directory",
    ]
    assert result.desired is None


def test_symlinked_directory_escaping_the_store_is_refused(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.yaml").write_text("skus: []\n")
    (store.root / "linked").symlink_to(outside)
    store.write("store.yaml", STORE_YAML.replace('"*.yaml"', '"linked/*.yaml"'))
    assert store.lines() == [
        "s/store.yaml:3:11: SC107 include[0]: include 'linked/*.yaml' matches "
        "s/linked/x.yaml, which links outside the store directory",
    ]


def test_symlink_inside_the_store_is_fine(store: Store) -> None:
    real = store.write("real/skus.yaml", SKU % "A")
    (store.root / "alias.yaml").symlink_to(real)
    result = store.compile()
    assert result.diagnostics == []
    assert result.desired is not None and list(result.desired.resources["skus"]) == ["a"]


def test_errors_from_many_files_are_all_reported(store: Store) -> None:
    chosen = {"syntax-error", "duplicate-key", "tab-indentation", "billion-laughs", "self-alias"}
    for case in [c for c in YAML_CASES if c.id in chosen]:
        for content in case.files.values():
            (store.root / f"{case.id}.yaml").write_text(str(content))
    codes = sorted(d.code for d in store.compile().errors)
    assert codes == ["SC101", "SC102", "SC103", "SC104", "SC104"]


@pytest.mark.parametrize(
    ("var", "message"),
    [
        ("novalue", "Error: --var needs KEY=VALUE with KEY a variable name, got 'novalue'"),
        ("1x=2", "Error: --var needs KEY=VALUE with KEY a variable name, got '1x=2'"),
    ],
)
def test_bad_var_is_a_usage_error(store: Store, var: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["validate", "s", "--var", var])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message]
    assert "Traceback" not in result.output


def test_missing_var_file_is_a_usage_error(store: Store) -> None:
    result = CliRunner().invoke(cli, ["validate", "s", "--var-file", "nope.yaml"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: --var-file nope.yaml: no such file"]


def test_var_file_that_is_not_a_mapping(store: Store) -> None:
    Path("v.yaml").write_text("- a\n")
    result = CliRunner().invoke(cli, ["validate", "s", "--var-file", "v.yaml"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "v.yaml:1:1: SC205 -: var file must be a mapping of variable names to values"
    ]


def test_missing_store_directory(store: Store) -> None:
    result = CliRunner().invoke(cli, ["validate", "nowhere"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: nowhere: no such directory"]


# ---------------------------------------------------------------- the real CLI

SUBPROCESS_CASES = ["billion-laughs", "dunder-class-mro", "repeat-a-billion", "syntax-error"]


def test_real_cli_reports_every_problem_without_a_traceback(tmp_path: Path) -> None:
    expected = []
    directories = []
    for case in [c for c in CASES if c.id in SUBPROCESS_CASES]:
        directory = Store(tmp_path / case.id)
        directory.write("store.yaml", case.store_yaml)
        for name, content in case.files.items():
            directory.write(name, str(content))
        directories.append(case.id)
        expected.append(case.expected.replace("s/", f"{case.id}/", 1))
    huge = Store(tmp_path / "huge")
    huge.write("store.yaml", STORE_YAML)
    with (huge.root / "t.yaml").open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    directories.append("huge")
    expected.append("huge/t.yaml:1:1: SC105 -: file is 33,554,433 bytes; the limit is 33,554,432")
    proc = run_cli("validate", *directories, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == expected
    assert proc.stderr.splitlines() == [f"{d}: invalid: 1 error" for d in directories]


def test_real_cli_bad_var(store: Store, tmp_path: Path) -> None:
    proc = run_cli("validate", "s", "--var", "oops", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr == "Error: --var needs KEY=VALUE with KEY a variable name, got 'oops'\n"


def test_real_cli_compile_refuses_a_sandbox_escape(store: Store, tmp_path: Path) -> None:
    store.write("t.yaml", SKU % "\"{{ ''.__class__.__mro__[1].__subclasses__() }}\"")
    proc = run_cli("compile", "s", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "s/t.yaml:2:19: SC202 skus.a.name: not allowed in templates: attribute "
        "'__class__' of a text value",
        "Error: the store definition has 1 error",
    ]
