"""validate --format github (workflow commands) and --format sarif (code scanning).

The SARIF log is read back into sarif-om's object model of SARIF 2.1.0: every property
must be one the standard defines, where it defines it, and every required one present.
On top of that, the fields GitHub code scanning needs are checked one by one.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import attr
import pytest
import sarif_om

from apply.stores import BASE, edit, write_store
from storecfg.spec.codehelp import HELP
from storecfg.spec.codes import CODES
from storecfg.views.annotations import (
    escape_data,
    escape_property,
    github_commands,
    sarif_log,
)
from support.server import storecfg

# ------------------------------------------------------------------ GitHub


def test_workflow_command_escaping_follows_the_runner() -> None:
    assert escape_data("100% sure\r\nnext: line, here") == "100%25 sure%0D%0Anext: line, here"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    # other control characters are shown, not sent to the log
    assert escape_data("red\x1b[31m") == "red\\x1b[31m"


def _diag(**kw: Any) -> dict[str, Any]:
    base = {
        "file": "stores/us/catalog.yaml",
        "line": 12,
        "column": 10,
        "code": "SC001",
        "severity": "error",
        "address": "service_plans.e3.sku",
        "path": "$.sku",
        "message": "skus.e3x does not exist; did you mean skus.e3?",
    }
    return {**base, **kw}


def test_github_commands() -> None:
    lines = github_commands(
        [
            _diag(),
            _diag(
                file="stores/us/a,b:c.yaml",
                line=0,
                column=0,
                code="SC101",
                address="-",
                message="bad YAML\n::set-output name=x::y",
            ),
            _diag(severity="warning", code="SC010", address="service_plans.e5", line=3, column=5),
        ]
    )
    assert lines == [
        "::error file=stores/us/catalog.yaml,line=12,col=10,title=SC001::"
        "service_plans.e3.sku: skus.e3x does not exist; did you mean skus.e3?",
        # no position: no line or col; a line break cannot start a second command
        "::error file=stores/us/a%2Cb%3Ac.yaml,title=SC101::bad YAML%0A::set-output name=x::y",
        "::warning file=stores/us/catalog.yaml,line=3,col=5,title=SC010::"
        "service_plans.e5: skus.e3x does not exist; did you mean skus.e3?",
        "storecfg validate: 2 errors, 1 warning.",
    ]


def test_github_summary_says_when_annotations_are_cut() -> None:
    lines = github_commands([_diag(line=n) for n in range(1, 13)])
    assert lines[-1].startswith("storecfg validate: 12 errors, 0 warnings. GitHub shows only ")
    assert "first 10 annotations of each type" in lines[-1]
    assert len(lines) == 13


# ------------------------------------------------------------------ SARIF read by sarif-om

#: property name -> the sarif-om class of its value ([cls]: a list, {cls}: a map)
_NESTED: dict[str, Any] = {
    "runs": [sarif_om.Run],
    "tool": sarif_om.Tool,
    "driver": sarif_om.ToolComponent,
    "rules": [sarif_om.ReportingDescriptor],
    "shortDescription": sarif_om.MultiformatMessageString,
    "fullDescription": sarif_om.MultiformatMessageString,
    "help": sarif_om.MultiformatMessageString,
    "defaultConfiguration": sarif_om.ReportingConfiguration,
    "results": [sarif_om.Result],
    "message": sarif_om.Message,
    "locations": [sarif_om.Location],
    "physicalLocation": sarif_om.PhysicalLocation,
    "artifactLocation": sarif_om.ArtifactLocation,
    "region": sarif_om.Region,
    "logicalLocations": [sarif_om.LogicalLocation],
    "originalUriBaseIds": {sarif_om.ArtifactLocation},
}


def read_sarif(data: Any, cls: Any = sarif_om.SarifLog, where: str = "$") -> Any:
    """`data` as sarif-om objects; fails on a property SARIF 2.1.0 does not define there
    and (through the class) on a required one that is missing."""
    names = {a.metadata["schema_property_name"]: a.name for a in attr.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        assert key in names, f"{where}: {cls.__name__} has no property {key!r}"
        nested = _NESTED.get(key)
        if key == "properties":
            assert isinstance(value, dict)
        elif isinstance(nested, list):
            value = [read_sarif(v, nested[0], f"{where}.{key}[{i}]") for i, v in enumerate(value)]
        elif isinstance(nested, set):
            (item_cls,) = nested
            value = {k: read_sarif(v, item_cls, f"{where}.{key}.{k}") for k, v in value.items()}
        elif nested is not None:
            value = read_sarif(value, nested, f"{where}.{key}")
        kwargs[names[key]] = value
    return cls(**kwargs)


def _rules() -> list[tuple[str, str, str, str]]:
    return [(c.code, c.title, c.severity, HELP[c.code]) for c in CODES.values()]


def test_every_code_has_help_text_from_the_reference() -> None:
    """The help SARIF carries is the first paragraph of the code's entry in the docs."""
    import re

    docs = (Path(__file__).parents[2] / "docs" / "reference.md").read_text(encoding="utf-8")
    for code in CODES:
        match = re.search(rf"^### {code} — .*?\n\n(.*?)\n\n", docs, re.M | re.S)
        assert match, f"{code} has no entry in docs/reference.md"
        paragraph = re.sub(r"\[([^\]]+)\]\(#[^)]*\)", r"\1", " ".join(match.group(1).split()))
        assert HELP.get(code) == paragraph, f"{code}: update spec/codehelp.py"


def test_sarif_log_reads_as_sarif_2_1_0() -> None:
    log = sarif_log(
        [_diag(), _diag(severity="warning", code="SC010", line=0, column=0, address="-")],
        _rules(),
        version="1.2.3",
        root_uri="file:///work/repo/",
    )
    model = read_sarif(json.loads(json.dumps(log)))
    assert model.version == "2.1.0"
    [run] = model.runs
    assert run.tool.driver.name == "storecfg"
    assert [r.rule_id for r in run.results] == ["SC001", "SC010"]
    assert run.results[0].locations[0].physical_location.region.start_line == 12


def _check_code_scanning(log: dict[str, Any]) -> None:
    """What GitHub code scanning needs of an upload (its documented required fields)."""
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "storecfg" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids)) == len(CODES)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        [location] = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and ".." not in uri.split("/") and "\\" not in uri
        region = location["physicalLocation"].get("region")
        assert region is None or region["startLine"] >= 1
        assert result["partialFingerprints"]


# ------------------------------------------------------------------ through the command


def _git_repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def _broken_store(root: Path) -> Path:
    store = write_store(root / "stores" / "us", BASE)
    edit(store, "catalog.yaml", "name: Pro\n    sku: sku-pro", "name: Pro\n    sku: sku-prox")
    edit(store, "storefront.yaml", 'rate: "7.25"', "rate: 7.25")
    return store


def test_validate_sarif_from_a_subdirectory_has_repository_paths(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path)
    _broken_store(repo)
    work = repo / "stores"
    out = storecfg(
        "validate", "us", "--format", "sarif", "-o", "results.sarif", cwd=work,
        env={"GITHUB_WORKSPACE": ""},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert out.stdout == "" and "Wrote results.sarif" in out.stderr
    log = json.loads((work / "results.sarif").read_text(encoding="utf-8"))
    read_sarif(log)
    _check_code_scanning(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"SC001", "SC305"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"stores/us/catalog.yaml", "stores/us/storefront.yaml"}
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"


def test_sarif_fingerprints_survive_moved_lines(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path)
    store = _broken_store(repo)

    def run() -> dict[str, tuple[int, str]]:
        out = storecfg("validate", "stores/us", "--format", "sarif", cwd=repo)
        results = json.loads(out.stdout)["runs"][0]["results"]
        return {
            r["ruleId"]: (
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
                r["partialFingerprints"]["storecfgDiagnostic/v1"],
            )
            for r in results
        }

    first = run()
    catalog = store / "catalog.yaml"
    catalog.write_text("# a comment\n\n" + catalog.read_text(encoding="utf-8"), encoding="utf-8")
    second = run()
    assert second["SC001"][0] == first["SC001"][0] + 2
    assert second["SC001"][1] == first["SC001"][1]
    assert second["SC305"] == first["SC305"]


def test_validate_github_annotates_from_the_workspace(tmp_path: Path) -> None:
    _broken_store(tmp_path)
    out = storecfg(
        "validate", "us", "--format", "github", cwd=tmp_path / "stores",
        env={"GITHUB_WORKSPACE": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith("::error file=stores/us/catalog.yaml,line=")
    assert ",title=SC001::service_plans.pro.sku: skus.sku-prox does not exist" in lines[0]
    assert lines[1].startswith("::error file=stores/us/storefront.yaml,line=")
    assert lines[-1] == "storecfg validate: 2 errors, 0 warnings."


@pytest.mark.parametrize("fmt", ["github", "sarif"])
def test_valid_store_annotates_nothing(tmp_path: Path, fmt: str) -> None:
    write_store(tmp_path / "s", BASE)
    out = storecfg("validate", "s", "--format", fmt, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    if fmt == "github":
        assert out.stdout == "storecfg validate: no errors, no warnings.\n"
    else:
        log = json.loads(out.stdout)
        read_sarif(log)
        _check_code_scanning(log)
        assert log["runs"][0]["results"] == []


def test_a_problem_of_some_targets_only_names_them_in_its_annotation(tmp_path: Path) -> None:
    import shutil

    example = Path(__file__).resolve().parents[2] / "examples" / "stores" / "multi-country"
    store = tmp_path / "multi-country"
    shutil.copytree(example, store)
    ca = store / "vars" / "ca.yaml"  # a negative markup: negative prices, in Canada only
    ca.write_text(ca.read_text().replace('markup: "1.20"', 'markup: "-1"'))
    catalog = store / "catalog" / "skus.yaml"  # and a problem every target has
    catalog.write_text(catalog.read_text() + "  - {id: broken, name: Broken}\n")
    out = storecfg(
        "validate", "multi-country", "--all-targets", "--format", "github",
        cwd=tmp_path, env={"GITHUB_WORKSPACE": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("::error")]
    in_ca = [line for line in lines if "microsoft-365.yaml" in line]
    shared = [line for line in lines if "skus.yaml" in line]
    assert in_ca and all(line.endswith(" (target ca only)") for line in in_ca), in_ca
    assert shared and not any("target" in line for line in shared), shared
    # the text view names the target above its problems instead
    text = storecfg("validate", "multi-country", "--all-targets", cwd=tmp_path)
    assert "only)" not in text.stdout + text.stderr
    assert "multi-country (target ca): invalid" in text.stderr
