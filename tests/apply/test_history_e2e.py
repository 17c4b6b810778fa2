"""History in the store, from outside: the real CLI against a real server process, from
working directories that come and go like CI runners (SPEC sections 5 and 6)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storecfg.store.driver import open_store
from support.server import Server, running_server, storecfg

from .stores import BASE, STORE_YAML, edit, write_store

_ids = itertools.count(1)
GITHUB = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "contoso/stores",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_ACTOR": "octocat",
}
#: the CI variables of the machine running the tests, cleared so they cannot leak in
CI_VARIABLES = (*GITHUB, "CI_JOB_URL", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("history-server")) as s:
        yield s


class Runner:
    """A working directory with the CLI pointed at one store on the server."""

    def __init__(self, server: Server, root: Path, store_id: str) -> None:
        self.server = server
        self.root = root
        self.store_id = store_id
        root.mkdir(parents=True, exist_ok=True)
        self.env = {**server.env(store_id), **dict.fromkeys(CI_VARIABLES, "")}

    def write(self, files: dict[str, str] | None = None) -> Path:
        files = dict(files if files is not None else BASE)
        files["store.yaml"] = files.get("store.yaml", STORE_YAML).replace(
            "id: test-store", f"id: {self.store_id}"
        )
        return write_store(self.root / "s", files)

    def run(self, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        done = storecfg(*args, cwd=self.root, env={**self.env, **env})
        assert done.returncode == code, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done

    def api(self) -> httpx.Client:
        return self.server.client(self.store_id)

    def get(self, *parts: str) -> Any:
        with self.api() as client:
            response = client.get("/".join(("/v1/stores", self.store_id, *parts)))
        assert response.status_code == 200, response.text
        return response.json()


def store_id() -> str:
    return f"hist-{next(_ids)}-{os.getpid()}"


def panel_edit(r: Runner, kind: str, rid: str, change: dict[str, Any] | None) -> None:
    """What somebody in the control panel does: a plain write through the API."""
    path = f"/v1/stores/{r.store_id}/{kind}/{rid}"
    with r.api() as client:
        current = client.get(path)
        if change is None:
            response = client.delete(path)
        elif current.status_code == 404:
            response = client.put(path, json={"spec": change}, headers={"If-None-Match": "*"})
        else:
            spec = {**current.json()["spec"], **change}
            response = client.put(
                path, json={"spec": spec}, headers={"If-Match": current.headers["ETag"]}
            )
    assert response.status_code in (200, 201, 204), response.text


# ------------------------------------------------------------------ backups outlive runners


def test_a_backup_taken_on_a_runner_is_restored_from_another_directory(
    server: Server, tmp_path: Path
) -> None:
    sid = store_id()
    runner = Runner(server, tmp_path / "runner", sid)
    runner.write()
    runner.run("apply", "s", "--auto-approve")
    edit(runner.root / "s", "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    result = runner.run("apply", "s", "--auto-approve")
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in result.stdout
    shutil.rmtree(runner.root)  # the runner is gone, with its .storecfg/

    laptop = Runner(server, tmp_path / "laptop", sid)  # an empty directory elsewhere
    listed = json.loads(laptop.run("backup", "list", "--json").stdout)
    assert [(b["revision"], b["resource_count"], b["source"]) for b in listed] == [
        (21, 20, "store"),
        (0, 0, "store"),
    ]
    second, first = listed[0]["id"], listed[1]["id"]
    text = laptop.run("backup", "list").stdout
    assert text.splitlines()[1].split()[:6] == [
        second,
        sid,
        listed[0]["created_at"],
        "21",
        "20",
        "store",
    ]
    shown = laptop.run("backup", "show", second).stdout
    assert (
        f"  store:     {sid} ({server.url})\n" in shown
        and "  where:     kept in the store\n" in shown
    )
    diff = laptop.run("backup", "diff", second).stdout
    assert '~ price.recurring: "40.00" -> "44.00"' in diff

    result = laptop.run("backup", "restore", second, "--auto-approve")
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in result.stdout
    price = laptop.get("service_plans", "pro")["spec"]["price"]["recurring"]
    assert price == "40.00"
    # the restore is an apply like any other: recorded, with a snapshot of its own
    records = laptop.get("applies")["items"]
    assert [(r["status"], r["writes_done"], r["writes_total"]) for r in records] == [
        ("complete", 1, 1), ("complete", 1, 1), ("complete", 21, 21)
    ]  # fmt: skip
    assert records[0]["source"]["command"] == f"backup restore {second}"
    snapshots = laptop.get("snapshots")["items"]
    assert snapshots[0]["reason"] == f"restore of {second}"
    assert [s["id"] for s in snapshots[1:]] == [second, first]
    # the laptop keeps the local snapshot file of the restore it ran, and only that one
    folder = laptop.root / ".storecfg" / "snapshots" / sid
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{snapshots[0]['id']}.json",
        f"{snapshots[0]['id']}.sha256",
    ]
    token = server.token(sid)
    for path in laptop.root.rglob("*"):
        assert not path.is_file() or token not in path.read_text(errors="replace")


def test_snapshots_beyond_keep_snapshots_are_pruned(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    with running_server(tmp_path / "srv", extra_args=["--keep-snapshots", "2"]) as server:
        r = Runner(server, tmp_path / "runner", store_id())
        r.write()
        r.run("apply", "s", "--auto-approve")
        for old, new in (("40.00", "41.00"), ("41.00", "42.00")):
            edit(r.root / "s", "catalog.yaml", f'recurring: "{old}"', f'recurring: "{new}"')
            r.run("apply", "s", "--auto-approve")
        snapshots = r.get("snapshots")["items"]
        assert len(r.get("applies")["items"]) == 3
        assert [s["revision"] for s in snapshots] == [22, 21]  # the newest two of three
        assert "keeping the newest 2 snapshots of each store" in server.log()


# ------------------------------------------------------------------ apply records


@pytest.mark.parametrize("bad", ["../x", "x y", "Shop", ""])
def test_a_malformed_store_id_is_refused_before_the_store_is_asked(
    server: Server, tmp_path: Path, bad: str
) -> None:
    """As the embedded store, `lock show` and `export` do: the ID is checked here, so
    the server never sees it (it would answer 403 for a store the token is not for)."""
    r = Runner(server, tmp_path / "ci", store_id())
    r.write()
    r.run("apply", "s", "--auto-approve")
    backup = json.loads(r.run("backup", "list", "--json").stdout)[0]["id"]
    for args in (
        ("backup", "list"),
        ("backup", "list", "--json"),
        ("backup", "show", backup),
        ("backup", "diff", backup),
        ("backup", "restore", backup, "--auto-approve"),
        ("lock", "show"),
        ("export", "-o", "out"),
    ):
        result = r.run(*args, "--store-id", bad, code=1)
        assert result.stderr.startswith("Error: invalid store ID"), (args, result.stderr)
        assert "403" not in result.stderr
    assert not (r.root / "out").exists()


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_an_apply_records_where_it_comes_from(server: Server, tmp_path: Path) -> None:
    r = Runner(server, tmp_path / "repo", store_id())
    r.write()
    _git(r.root, "init", "-q", "-b", "release")
    _git(r.root, "add", "s")
    _git(r.root, "commit", "-q", "-m", "the store")
    commit = _git(r.root, "rev-parse", "HEAD")
    r.run("apply", "s", "--auto-approve", **GITHUB)
    [record] = r.get("applies")["items"]
    source = record["source"]
    assert (source["git_commit"], source["git_branch"], source["git_dirty"]) == (
        commit, "release", False
    )  # fmt: skip
    assert source["ci_run_url"] == "https://github.com/contoso/stores/actions/runs/4242"
    assert source["ci_actor"] == "octocat"
    assert {"user", "host", "tool_version", "command"} <= set(source)
    assert record["plan_id"] and record["changes"] == {
        "create": 20, "update": 0, "delete": 0, "replace": 0
    }  # fmt: skip
    # an uncommitted edit is dirty (storecfg's own .storecfg/ is not); GitLab's job URL
    edit(r.root / "s", "catalog.yaml", 'recurring: "40.00"', 'recurring: "41.00"')
    r.run("apply", "s", "--auto-approve", CI_JOB_URL="https://gitlab.example/c/s/-/jobs/7")
    latest = r.get("applies")["items"][0]["source"]
    assert latest["git_dirty"] is True and latest["git_commit"] == commit
    assert latest["ci_run_url"] == "https://gitlab.example/c/s/-/jobs/7"
    # outside a git work tree there is no git provenance at all
    plain = Runner(server, tmp_path / "plain", r.store_id)
    shutil.copytree(r.root / "s", plain.root / "s")
    edit(plain.root / "s", "catalog.yaml", 'recurring: "41.00"', 'recurring: "42.00"')
    plain.run("apply", "s", "--auto-approve")
    latest = r.get("applies")["items"][0]["source"]
    assert not {"git_commit", "git_branch", "git_dirty", "ci_run_url"} & set(latest)
    token = server.token(r.store_id)
    assert token not in json.dumps(r.get("applies"))
    assert token not in json.dumps(r.get("snapshots"))


def test_an_interrupted_apply_is_told_on_any_machine(server: Server, tmp_path: Path) -> None:
    r = Runner(server, tmp_path / "laptop", store_id())
    r.write()
    # an apply on a runner that died after its first write, its lock then released
    with r.api() as client:
        base = f"/v1/stores/{r.store_id}"
        lock = client.post(f"{base}/lock", json={"owner": {"user": "runner"}}).json()
        client.post(
            f"{base}/applies",
            json={
                "id": "dead-apply-1",
                "plan_id": "0123abcd-plan",
                "writes_total": 21,
                "source": {"user": "runner", "host": "ci-runner-7", "git_branch": "main",
                           "git_commit": "89abcdef0123"},
                "lock_id": lock["lock_id"],
            },
        )  # fmt: skip
        client.post(
            f"{base}/batch",
            json={
                "operations": [{"op": "put", "kind": "skus", "id": "sku-basic", "if_none_match": "*",
                                "spec": {"name": "Basic", "vendor": "Contoso", "source": "custom"}}],
                "apply_id": "dead-apply-1",
            },
        )  # fmt: skip
        # still holding its lock: it may be running, as far as anybody can tell
        result = r.run("plan", "s")
        assert "has not finished: 1 of 21 writes so far, and it holds the store's lock" in (
            result.stderr
        )
        client.delete(f"{base}/lock", params={"lock_id": lock["lock_id"]})
    result = r.run("plan", "s")
    warning = (
        "Warning: the last apply (plan 0123abcd, apply dead-app) by runner@ci-runner-7 from "
        "main@89abcdef, started "
    )
    assert warning in result.stderr and warning in result.stdout
    assert "was interrupted after 1 of 21 writes" in result.stderr
    plan = json.loads(r.run("plan", "s", "--format", "json").stdout)
    interrupted = plan["interrupted_apply"]
    assert (interrupted["status"], interrupted["done"], interrupted["total"]) == (
        "interrupted",
        1,
        21,
    )
    markdown = r.run("plan", "s", "--format", "markdown").stdout
    assert "> [!WARNING]" in markdown and "was interrupted after 1 of 21 writes" in markdown
    r.run("apply", "s", "--auto-approve")
    result = r.run("plan", "s")
    assert "Warning" not in result.stdout + result.stderr


# ------------------------------------------------------------------ drift


def test_changes_made_in_the_control_panel_are_drift(server: Server, tmp_path: Path) -> None:
    r = Runner(server, tmp_path / "ci", store_id())
    r.write()
    r.run("apply", "s", "--auto-approve")
    assert r.run("drift", "s").stdout.endswith(
        "No drift: nothing was changed outside storecfg since the last apply.\n"
    )
    edit(r.root / "s", "catalog.yaml", 'recurring: "900.00"', 'recurring: "990.00"')  # the PR
    panel_edit(r, "service_plans", "pro", {"name": "Pro (summer sale)"})
    panel_edit(r, "payment_methods", "interac", {"type": "debit_card", "regions": ["CA"]})
    panel_edit(r, "payment_methods", "card", None)
    revision = r.get()["revision"]

    found = json.loads(r.run("drift", "s", "--format", "json", code=2).stdout)
    drift = found["drift"]
    assert [(d["address"], d["kind"]) for d in drift] == [
        ("service_plans.pro", "changed"),
        ("payment_methods.card", "deleted"),
        ("payment_methods.interac", "created"),
    ]
    assert [d["revision"] for d in drift] == [revision - 2, revision, revision - 1]
    assert all(d["changed_at"].endswith("Z") for d in drift)
    assert found["store"] == {"id": r.store_id, "url": server.url, "revision": revision}
    text = r.run("drift", "s", code=2).stdout
    assert "Changed outside storecfg since the last apply (3):\n" in text
    assert "  service_plans.pro        changed  (revision " in text
    markdown = r.run("drift", "s", "--format", "markdown", code=2).stdout
    assert "#### Changed outside storecfg since the last apply (3)" in markdown
    # by the definition's name, with the address beside it; without one, the address alone
    assert f"| **Pro** (`service_plans.pro`) | changed | {revision - 2} |" in markdown
    assert f"| `payment_methods.card` | deleted | {revision} |" in markdown
    assert f"| `payment_methods.interac` | created | {revision - 1} |" in markdown
    drift_rows = drift_table(markdown)

    # the plan: drift in its own section, before (and apart from) the changes
    plan = json.loads(r.run("plan", "s", "--format", "json").stdout)
    assert plan["drift"] == drift
    actions = {c["address"]: c["action"] for c in plan["changes"] if c["action"] != "no-op"}
    assert actions == {
        "service_plans.enterprise": "update",  # the pull request's own change
        "service_plans.pro": "update",  # puts the definition's name back
        "payment_methods.card": "create",
        "payment_methods.interac": "delete",
    }
    text = r.run("plan", "s").stdout
    title = text.index("Changed outside storecfg since the last apply (3):")
    assert (
        title < text.index("Impact:") < text.index("Resources to DELETE") < text.index("Changes:")
    )
    section = text[title : text.index("Impact:")]
    assert "service_plans.enterprise" not in section and "~" not in section
    markdown = r.run("plan", "s", "--format", "markdown").stdout
    title = markdown.index("\n### Changed outside storecfg since the last apply (3)")
    summary = markdown.index("**Plan: ")
    assert title < summary < markdown.index("<details>")
    assert "service_plans.enterprise" not in markdown[title:summary]
    assert drift_table(markdown[title:summary]) == drift_rows  # the same rows as `drift`

    r.run("apply", "s", "--auto-approve")
    assert json.loads(r.run("drift", "s", "--json").stdout)["drift"] == []
    plan = json.loads(r.run("plan", "s", "--format", "json").stdout)
    assert plan["drift"] == [] and not plan["has_changes"]


def drift_table(markdown: str) -> list[str]:
    """The rows of the drift table in a Markdown plan or drift report."""
    start = markdown.index("| resource | what happened | revision | when |")
    rows = []
    for line in markdown[start:].splitlines()[2:]:
        if not line.startswith("| "):
            break
        rows.append(line)
    return rows


def test_drift_in_markdown_names_resources_as_the_definition_does(tmp_path: Path) -> None:
    """An example store applied to an embedded store, one of its plans renamed there
    behind storecfg's back: the Markdown report names it as the definition does."""
    example = Path(__file__).resolve().parents[2] / "examples" / "stores" / "o365-reseller"
    shutil.copytree(example, tmp_path / "store")
    env = {"STORECFG_STORE": f"sqlite:///{tmp_path / 'live.db'}"}

    def run(*args: str, code: int = 0) -> str:
        done = storecfg(*args, cwd=tmp_path, env=env)
        assert done.returncode == code, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done.stdout

    run("apply", "store", "--auto-approve")
    json_before = json.loads(run("drift", "store", "--json"))
    with open_store(env["STORECFG_STORE"]) as driver:
        item = driver.get("contoso-cloud-us", "service_plans", "ic-storage-monthly")
        assert item is not None
        spec = {**item.spec, "name": "Object storage (spring offer)"}
        driver.put(
            "contoso-cloud-us", "service_plans", "ic-storage-monthly", spec, if_match=item.revision
        )

    markdown = run("drift", "store", "--format", "markdown", code=2)
    [row] = drift_table(markdown)
    assert row.startswith("| **Impossible Cloud Object Storage ")
    assert "(`service_plans.ic-storage-monthly`) | changed |" in row
    assert "spring offer" not in markdown  # the definition's name, not the live one
    plan = run("plan", "store", "--format", "markdown")
    assert drift_table(plan) == [row]
    # JSON and text name no resource: the address is all they show
    found = json.loads(run("drift", "store", "--json", code=2))
    assert set(found) == set(json_before)
    assert [set(d) for d in found["drift"]] == [{"address", "kind", "revision", "changed_at"}]
    text = run("drift", "store", code=2)
    assert "  service_plans.ic-storage-monthly  changed  (revision " in text
    assert "Impossible Cloud" not in text


def test_drift_the_definition_takes_over_stops_being_drift(server: Server, tmp_path: Path) -> None:
    r = Runner(server, tmp_path / "ci", store_id())
    r.write()
    r.run("apply", "s", "--auto-approve")
    panel_edit(r, "service_plans", "pro", {"name": "Pro Plus"})
    edit(r.root / "s", "catalog.yaml", "name: Pro\n", "name: Pro Plus\n")  # taken into git
    plan = json.loads(r.run("plan", "s", "--format", "json", "--detailed-exitcode").stdout)
    assert not plan["has_changes"]
    assert [d["address"] for d in plan["drift"]] == ["service_plans.pro"]
    text = r.run("plan", "s").stdout
    assert text.index("Changed outside storecfg") < text.index("No changes.")
    revision = r.get()["revision"]
    result = r.run("apply", "s", "--auto-approve")
    assert (
        "Recorded 1 resource changed outside storecfg as matching the definition" in result.stderr
    )
    assert r.get()["revision"] == revision  # nothing written
    r.run("drift", "s")  # exit 0: no drift


def panel_settings(r: Runner, change: dict[str, Any]) -> None:
    """The store settings edited in the control panel: a plain PUT through the API."""
    path = f"/v1/stores/{r.store_id}/settings"
    with r.api() as client:
        current = client.get(path)
        spec = {k: v for k, v in current.json()["spec"].items() if k != "id"}
        response = client.put(
            path, json={"spec": {**spec, **change}}, headers={"If-Match": current.headers["ETag"]}
        )
    assert response.status_code == 200, response.text


def test_settings_changed_in_the_control_panel_are_drift(server: Server, tmp_path: Path) -> None:
    r = Runner(server, tmp_path / "ci", store_id())
    r.write()
    r.run("apply", "s", "--auto-approve")
    r.run("drift", "s")  # exit 0: storecfg wrote the settings
    panel_settings(r, {"name": "Test Store (holiday sale)"})
    revision = r.get()["revision"]

    found = json.loads(r.run("drift", "s", "--format", "json", code=2).stdout)
    assert [(d["address"], d["kind"], d["revision"]) for d in found["drift"]] == [
        ("settings", "changed", revision)
    ]
    assert found["drift"][0]["changed_at"].endswith("Z")
    text = r.run("drift", "s", code=2).stdout
    assert "Changed outside storecfg since the last apply (1):\n  settings  changed  (" in text
    markdown = r.run("drift", "s", "--format", "markdown", code=2).stdout
    assert f"| `settings` | changed | {revision} |" in markdown

    # adopt does not take settings back: it says where to keep them, and edits nothing
    before = (r.root / "s" / "store.yaml").read_text()
    adopted = r.run("adopt", "s").stdout + r.run("adopt", "s").stderr
    assert "store settings are not adopted" in adopted and "store.yaml:" in adopted
    assert "no longer in the store" not in adopted
    assert (r.root / "s" / "store.yaml").read_text() == before

    # the plan names it as drift, apart from the pull request's own change
    plan = json.loads(r.run("plan", "s", "--format", "json").stdout)
    assert plan["drift"] == found["drift"]
    assert plan["settings"]["action"] == "update"  # puts the definition's name back
    text = r.run("plan", "s").stdout
    title = text.index("Changed outside storecfg since the last apply (1):")
    assert "  settings  changed  (revision " in text[title:]
    markdown = r.run("plan", "s", "--format", "markdown").stdout
    assert "Changed outside storecfg since the last apply (1)" in markdown
    assert f"| `settings` | changed | {revision} |" in markdown

    # applying puts the definition back and ends the drift
    r.run("apply", "s", "--auto-approve")
    assert r.get("settings")["spec"]["name"] == "Test Store"
    r.run("drift", "s")  # exit 0

    # a change the definition takes over is recorded as storecfg's without a write
    panel_settings(r, {"name": "Test Store Plus"})
    edit(r.root / "s", "store.yaml", "name: Test Store,", "name: Test Store Plus,")
    plan = json.loads(r.run("plan", "s", "--format", "json").stdout)
    assert [d["address"] for d in plan["drift"]] == ["settings"]
    assert plan["settings"]["action"] == "no-op"
    revision = r.get()["revision"]
    result = r.run("apply", "s", "--auto-approve")
    assert "Recorded the store settings changed outside storecfg" in result.stderr
    assert r.get()["revision"] == revision  # nothing written
    r.run("drift", "s")  # exit 0


def test_drift_errors_exit_1(server: Server, tmp_path: Path) -> None:
    r = Runner(server, tmp_path / "ci", store_id())
    r.write()
    result = r.run("drift", "s", "--store", "http://127.0.0.1:9", code=1)
    assert result.stderr.startswith("Error: ") and "cannot reach the store" in result.stderr
    result = r.run("drift", "missing", code=1)
    assert "Error:" in result.stderr
    other = Runner(server, tmp_path / "other", store_id())
    result = r.run("drift", "s", STORECFG_TOKEN=server.token(other.store_id), code=1)
    assert "403" in result.stderr and server.token(other.store_id) not in result.stderr


def test_drift_of_every_target(tmp_path: Path) -> None:
    from test_targets import _env, two_country_store

    store = two_country_store(tmp_path / "store")
    (tmp_path / "srv").mkdir()
    with running_server(tmp_path / "srv", stores=["shop-us", "shop-ca"]) as server:
        env = {**_env(server), **dict.fromkeys(CI_VARIABLES, "")}

        def run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
            done = storecfg(*args, cwd=tmp_path, env=env)
            assert done.returncode == code, done.stdout + done.stderr
            return done

        run("apply", str(store), "--all-targets", "--auto-approve")
        run("drift", str(store), "--all-targets")
        ca = Runner(server, tmp_path / "ca", "shop-ca")
        panel_edit(ca, "service_plans", "pro", {"name": "Pro (Canada only)"})
        found = json.loads(run("drift", str(store), "--all-targets", "--json", code=2).stdout)
        assert [(t["target"], [d["address"] for d in t["drift"]]) for t in found["targets"]] == [
            ("us", []),
            ("ca", ["service_plans.pro"]),
        ]
        assert found["has_drift"] and found["failed"] == []
        text = run("drift", str(store), "--all-targets", code=2).stdout
        assert (
            text.index("=== target us ===")
            < text.index("No drift")
            < text.index("=== target ca ===")
            < text.index("Changed outside storecfg since the last apply (1):")
        )
        markdown = run("drift", str(store), "--target", "ca", "--format", "markdown", code=2)
        assert "storecfg drift for `shop-ca`" in markdown.stdout
        markdown = run("drift", str(store), "--all-targets", "--format", "markdown", code=2)
        ca_section = markdown.stdout[markdown.stdout.index("## Target `ca`") :]
        assert "| **Pro** (`service_plans.pro`) | changed |" in ca_section
        run("drift", str(store), "--target", "us")  # exit 0: that store has none
        # a target whose store cannot be reached fails alone, and the exit code says so
        env["STORE_URL_US"] = "http://127.0.0.1:9"
        failed = run("drift", str(store), "--all-targets", "--json", code=1)
        assert json.loads(failed.stdout)["failed"] == ["us"]
        assert "Error: target us: " in failed.stderr
