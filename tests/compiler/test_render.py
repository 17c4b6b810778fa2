"""The template sandbox: what templates may do, and the limits that keep them small."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storecfg.compiler.render import make_renderer
from storecfg.compiler.sandbox.budget import MAX_OUTPUT_CHARS
from storecfg.compiler.sandbox.problem import TemplateProblem
from storecfg.compiler.sandbox.renderer import TemplateRenderer
from storecfg.compiler.sandbox.strings import bounded_str_method

VARS = {
    "name": "contoso",
    "n": 3,
    "flag": True,
    "price": "8.50",
    "regions": ["US", "CA"],
    "items": "a variable called items",
    "d": {"a": 1},
    "big": "x" * 60_000,
}


@pytest.fixture
def renderer() -> TemplateRenderer:
    return make_renderer(VARS, 2)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ vars.n }}", 3),
        ("{{ vars.flag }}", True),
        ("{{ none }}", None),
        ("{{ vars.n * 1.5 }}", 4.5),
        ("{{ vars.n }} seats", "3 seats"),
        (" {{ vars.n }}", " 3"),
        ("{{- vars.n -}}", 3),
        ("{{ vars.name | upper }}", "CONTOSO"),
        ("{{ vars.name.title() }}", "Contoso"),
        ("{{ vars.regions | join(', ') }}", "US, CA"),
        ("{{ vars.regions | length }}", 2),
        ("{{ [1, 2, 3] | sum }}", 6),
        ("{{ vars.missing | default('fallback') }}", "fallback"),
        ("{{ vars.items }}", "a variable called items"),
        ("{{ vars['n'] + 1 }}", 4),
        ("{{ vars.d.items() | list | length }}", 1),
        ("{{ vars.d.get('a') }}", 1),
        ("{{ 'a-b-c'.split('-') | last }}", "c"),
        ("{{ 'x' ~ vars.n }}", "x3"),
        ("{{ 7 % 4 }}", 3),
        ("{{ 2 ** 10 }}", 1024),
        ("{{ vars.price | decimal * 2 }}", "17.00"),
        ("{{ vars.price | money }}", "8.50"),
        ("{{ '8.5' | money }}", "8.50"),
        ("{{ 8.505 | money }}", "8.51"),
        ("{{ '2.5' | money(0) }}", "3"),
        ("{{ ('10' | decimal * '1.15' | decimal) | money }}", "11.50"),
        ("{{ '<b>' | e }}", "&lt;b&gt;"),
        ("{{ vars.regions | tojson }}", '["US", "CA"]'),
        ("{% if vars.n > 2 %}many{% else %}few{% endif %}", "many"),
        ("{% if vars.flag %}{{ vars.n }}{% endif %}", "3"),
        ("{% raw %}{{ literal }}{% endraw %}", "{{ literal }}"),
        ("{{ ('x' * 65536) | length }}", 65536),
        ("{{ 2 ** 62 }}", 2**62),
        ("{{ 9223372036854775807 }}", 2**63 - 1),
    ],
)
def test_allowed_templates(renderer: TemplateRenderer, source: str, expected: Any) -> None:
    value = renderer.render(source)
    assert value == expected
    assert type(value) is type(expected)


def test_money_rounds_to_the_store_currency() -> None:
    assert make_renderer({}, 0).render("{{ '1234.5' | money }}") == "1235"
    assert make_renderer({}, 3).render("{{ '1.2345' | money }}") == "1.235"


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [
        ("{{ vars.d.update({'b': 2}) }}", "SC202", "attribute 'update' of a mapping value"),
        ("{{ vars.regions.pop() }}", "SC202", "attribute 'pop' of a list value"),
        ("{{ (1).to_bytes(10, 'big') }}", "SC202", "attribute 'to_bytes' of a number value"),
        ("{{ vars.name.format() }}", "SC202", "attribute 'format' of a text value"),
        ("{{ vars.name.format_map({}) }}", "SC202", "attribute 'format_map' of a text value"),
        ("{{ vars.name|attr('__class__') }}", "SC202", "attribute '__class__'"),
        ("{{ self.__init__ }}", "SC202", "'__init__'"),
        ("{{ [[1]] | sum(start=[]) }}", "SC202", "sum adds numbers only"),
        ("{{ 'x'|center(9) }}", "SC202", "filter 'center' is not allowed in templates"),
        ("{{ [[1]]|tojson(indent=200000000) }}", "SC202", "tojson indent must be a whole number"),
        ("{{ ('a'*60000)|replace('a', 'b'*20000, -1) }}", "SC204", "result of replace() is over"),
        (
            "{{ ('ab'*30000)|list|select('in', ('c'*60000)|list)|list|length }}",
            "SC204",
            "template builds more than",
        ),
        ("{{ 'x'|map('center', 9)|list }}", "SC202", "No filter named 'center'"),
        (
            "{{ 'a' + 1 }}",
            "SC202",
            'can only concatenate str (not "int") to str; join strings with ~',
        ),
        ("{{ 1 / 0 }}", "SC202", "division by zero"),
        ("{{ 'x' is oddd }}", "SC203", "unknown test 'oddd'; did you mean 'odd'?"),
        ("{% set x = 1 %}", "SC202", "'assign' blocks are not allowed"),
        ("{% macro m() %}{% endmacro %}", "SC202", "'macro' blocks are not allowed"),
        ("{% include 'other.yaml' %}", "SC202", "'include' blocks are not allowed"),
        ("{{ 'x' * 65537 }}", "SC204", "repeating a value 65,537 times is over the size limit"),
        ("{{ vars.big ~ vars.big }}", "SC204", "template output is 120,000 characters"),
        ("{{ 2 ** 63 }}", "SC204", "over the largest whole number 9,223,372,036,854,775,807"),
        ("{{ 10 ** 65 }}", "SC202", "exponents above 64 are not allowed"),
        ("{{ (10 ** 40) * (10 ** 40) }}", "SC204", "a number in the template is over 256 bits"),
        ("{{ 'abc' | money }}", "SC202", "'abc' is not a number"),
        ("{{ 'Infinity' | money }}", "SC202", "'Infinity' is not a number"),
        ("{{ '1e200' | decimal }}", "SC204", "'1e200' is too large a number"),
        ("{{ vars.d.x }}", "SC201", "no key 'x' in this mapping (its keys: a)"),
        ("{{ vars.name.nope }}", "SC201", "undefined attribute 'nope'"),
        ("{{ vars.nmae }}", "SC201", "undefined variable vars.nmae; did you mean vars.name?"),
        ("{{ name }}", "SC201", "undefined variable name; did you mean vars.name?"),
        (
            "{{ range(3) }}",
            "SC202",
            "range() is not available in templates",
        ),
    ],
)
def test_refused_templates(
    renderer: TemplateRenderer, source: str, code: str, message: str
) -> None:
    with pytest.raises(TemplateProblem) as info:
        renderer.render(source)
    assert info.value.code == code
    assert message in info.value.message


def test_templates_cannot_change_vars(renderer: TemplateRenderer) -> None:
    for source in ("{{ vars.regions.append('MX') }}", "{{ vars.clear() }}"):
        with pytest.raises(TemplateProblem):
            renderer.render(source)
    assert renderer.render("{{ vars.regions | join(',') }}") == "US,CA"
    assert renderer.render("{{ vars | length }}") == len(VARS)


def test_syntax_error_names_the_template_line(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateProblem) as info:
        renderer.render("line one\nline two {{ 1 + }}\n")
    assert (info.value.code, info.value.line_offset) == ("SC203", 1)


def test_output_limit_and_work_budget(renderer: TemplateRenderer) -> None:
    assert len(renderer.render("{{ vars.big }}")) == 60_000
    # ~ joins count every piece: 20 copies of 60,000 characters are over the 1 MiB budget
    with pytest.raises(TemplateProblem, match="template builds more than 1,048,576 characters"):
        renderer.render("{{ (" + " ~ ".join(["vars.big"] * 20) + ") | length }}")
    # the budget is per template: the next one starts afresh
    assert renderer.render("{{ vars.big | length }}") == 60_000
    assert MAX_OUTPUT_CHARS == 65_536


def test_printing_vars_is_charged_too() -> None:
    renderer = make_renderer({"big": "x" * 200_000}, 2)
    assert renderer.render("{{ vars | string | length }}") == 200_011
    with pytest.raises(TemplateProblem, match="characters of values on the way"):
        renderer.render("{{ (vars ~ vars ~ vars) | length }}")


def test_same_source_is_compiled_once(renderer: TemplateRenderer) -> None:
    renderer.render("{{ vars.n + 1 }}")
    compiled = renderer.templates.cache["{{ vars[__k0] + __k1 }}"]
    assert renderer.render("{{ vars.n + 1 }}") == 4
    assert renderer.templates.cache["{{ vars[__k0] + __k1 }}"] is compiled


def test_templates_that_differ_in_literals_share_one_compiled_shape(
    renderer: TemplateRenderer,
) -> None:
    prices = [
        f"{{{{ ('{p}' | decimal * '1.15' | decimal) | money }}}}" for p in ("8.00", "9.50", "12.25")
    ]
    assert [renderer.render(p) for p in prices] == ["9.20", "10.93", "14.09"]
    assert len(renderer.templates.cache) == 1
    # literals that are syntax, not values, are left alone: still right
    assert renderer.render("{{ 'a' 'b' }}") == "ab"
    assert (
        renderer.render("{{ vars.regions.0 }}") == renderer.render("{{ vars.regions[0] }}") == "US"
    )
    assert renderer.render("{{ 'x' if vars.n > 2 else 'y' }}") == "x"


def test_single_expression_keeps_lists_and_mappings() -> None:
    r = make_renderer({"regions": ["US", "CA"], "fees": {"setup": "0.00"}})
    assert r.render("{{ vars.regions }}") == ["US", "CA"]
    assert r.render("{{ vars.fees }}") == {"setup": "0.00"}
    # inside a longer string a list is text, as Jinja prints it
    assert r.render("in {{ vars.regions | join(', ') }}") == "in US, CA"


def test_rendering_has_a_time_limit_per_compile() -> None:
    import time

    r = make_renderer({"n": 3}, 2)
    assert r.render("{{ vars.n + 1 }}") == 4
    r.budget.deadline = time.monotonic() - 1  # as if 30 s of templates had run already
    with pytest.raises(TemplateProblem) as info:
        r.render("{{ vars.n + 2 }}")
    assert info.value.code == "SC204" and "seconds in all" in info.value.message


# ---------------------------------------------------------------- shapes mean the same

SHAPE_VARS = {
    "x": 1,
    "n": 3,
    "name": "Contoso",
    "cost": {"e1": "8.00", "e3": "20.00", "items": "I", "get": "G"},
    "l": [1, 2, 3],
    "regions": ["US", "CA"],
    "items": "top-items",
    "markup": "1.15",
    "flag": True,
    "empty": "",
}

SHAPE_TEMPLATES = [
    "Store {{ vars.name }}",
    "{{ vars.cost.e1 }}",
    "{{ (vars.cost.e3 | decimal * vars.markup | decimal) | money }}",
    "a\n{{ vars.x }}\nb\n",
    "  {%- if vars.flag -%}  yes  {%- else %} no {% endif %}\n",
    "{% raw %}{{ vars.x }}{% endraw %} {{ vars.x }}",
    "{# note #}q{{ vars.l.0 }}",
    "{{ vars.items }}",
    "{{ vars.cost.items }}",
    "{{ vars.cost.get }}",
    "{{ vars.cost.keys() | list }}",
    "{{ vars.nope }}",
    "{{ vars.cost.nope }}",
    "{{ vars.name.nope }}",
    "{{ vars.name.upper() }}",
    "{{ vars.name.lower }}",
    "x{{ vars . cost . e1 }}y",
    "{{ vars.x is defined }} {{ vars.zz is defined }}",
    "{{ vars.cost.zz | default('d') }}",
    "{{ (vars.name | e) + '<b>' }}",
    "{% if vars.n > 2 %}\n big\n{% elif vars.n > 1 %}mid{% else %}small{% endif %}",
    "{{ vars }}",
    "{{ vars.name.__class__ }}",
    "{{ vars.l.append(1) }}",
    "{{ vars.cost.e1 ~ '/' ~ vars.cost.e3 }}",
    "{{ vars.cost.real }}",
    "{% for i in [1] %}{{ i }}{% endfor %}",
    "line1\nline2\n{% for a in b %}{% endfor %}",
    "a\n\nb {{ vars.x | nosuch }}",
    "{{ vars.x +  }}",
]


def _outcome(renderer: TemplateRenderer, source: str) -> tuple[Any, ...]:
    try:
        value = renderer.render(source)
    except TemplateProblem as exc:
        return (exc.code, exc.message, exc.line_offset)
    return ("ok", type(value), value)


@pytest.mark.parametrize("source", SHAPE_TEMPLATES)
def test_a_shape_renders_exactly_like_the_template_as_written(source: str) -> None:
    """Text, literals and key names become variables of a shared compiled shape; the
    result, the error and its line are those of the template compiled as written."""
    shaped = make_renderer(SHAPE_VARS)
    as_written = make_renderer(SHAPE_VARS)
    as_written.templates.shape = lambda s: (s, {})  # type: ignore[method-assign]
    assert _outcome(shaped, source) == _outcome(as_written, source)


@settings(max_examples=300, deadline=None)
@given(
    st.text("ab", max_size=120),
    st.text("ab", min_size=33, max_size=60),
    st.sampled_from(["rfind", "rindex", "rpartition", "rsplit", "strip", "lstrip", "rstrip"]),
    st.lists(st.one_of(st.none(), st.integers(-80, 150)), max_size=2),
    st.booleans(),
)
def test_bounded_str_methods_answer_as_str_does(
    text: str, needle: str, name: str, extra: list[int | None], markup: bool
) -> None:
    from markupsafe import Markup

    owner = Markup(text) if markup else text
    chars = needle + "".join(chr(0x100 + i) for i in range(40))
    args: tuple[Any, ...] = (chars,) if "strip" in name else (needle, *extra)
    if name in ("rpartition",) or (name == "rsplit" and len(extra) > 1):
        args = (needle,)
    try:
        expected: Any = ("ok", getattr(owner, name)(*args))
    except (ValueError, TypeError) as exc:
        expected = ("error", type(exc))
    try:
        got = bounded_str_method(owner, name, args, {})
        if got is NotImplemented:
            return
        result: Any = ("ok", got)
    except (ValueError, TypeError) as exc:
        result = ("error", type(exc))
    assert result == expected
    if result[0] == "ok":
        assert type(result[1]) is type(expected[1])
