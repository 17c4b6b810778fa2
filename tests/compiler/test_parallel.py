"""Files checked in worker processes give exactly the result of a compile in one process:
the same desired state, the same diagnostics in the same order, the same cache units."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import storecfg.compiler.compile as compile_module
from storecfg.compiler import workers
from storecfg.compiler.compile import compile_store
from storecfg.compiler.result import CompileResult

from .test_scaling import generate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stores"


def summary(result: CompileResult) -> dict[str, Any]:
    desired = result.desired
    return {
        "desired": None if desired is None else json.dumps(desired.to_json(), sort_keys=True),
        "diagnostics": [d.format() for d in result.diagnostics],
        "files": result.files,
        "inputs": result.inputs,
        "digests": result.digests,
        "units": [(u.file, u.to_cache()) for u in result.units],
        "root_items": result.root_items,
    }


def untemplated(text: str) -> str:
    return re.sub(r'"\{\{[^"]*\}\}"', '"7.50"', text)


def both_ways(monkeypatch: pytest.MonkeyPatch, root: Path) -> tuple[CompileResult, CompileResult]:
    """(one process, worker processes); fails unless the second really used workers."""
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 2**62)
    alone = compile_store(root)
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    # a test runner may run threads of its own; the workers here touch none of their locks
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    started: list[int] = []
    original = compile_module._Compiler._check_in_workers

    def spy(self: Any, *args: Any) -> Any:
        out = original(self, *args)
        started.append(len(out))
        return out

    monkeypatch.setattr(compile_module._Compiler, "_check_in_workers", spy)
    shared = compile_store(root)
    assert started and started[0] > 0, "no file was checked in a worker"
    return alone, shared


@pytest.mark.parametrize("store", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_example_stores_compile_the_same_in_workers(
    monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    alone, shared = both_ways(monkeypatch, EXAMPLES / store)
    assert summary(shared) == summary(alone)


def broken_store(root: Path, unparseable: bool) -> None:
    """Many files, some with templates, with errors of every stage in several files."""
    generate(root, 600)
    for n, path in enumerate(sorted((root / "catalog").glob("*.yaml"))):
        text = path.read_text()
        if n % 2:  # no templates: checked by a worker
            text = untemplated(text)
        if n % 3 == 0:
            text = text.replace("sku: sku-", "sku: missing-", 2)  # a rule (after merging)
        if n == 1:
            text = text.replace("    billing_period: {length: 1, unit: month}\n", "", 3)
        if n == 4 and unparseable:
            text += "service_plans: [\n"  # unparseable
        if n == 5:
            text = text.replace("id: plan-", "id: Plan_", 2)  # schema
        path.write_text(text)
    # a duplicate ID across files is reported at the second definition
    (root / "catalog" / "zz-dup.yaml").write_text(
        "skus:\n  - {id: sku-0, name: Again, vendor: Contoso, source: distributor}\n"
    )


@pytest.mark.parametrize("unparseable", [False, True])
def test_errors_come_out_the_same_in_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unparseable: bool
) -> None:
    broken_store(tmp_path / "s", unparseable)
    alone, shared = both_ways(monkeypatch, tmp_path / "s")
    codes = {d.code for d in alone.diagnostics}
    # an unreadable file stops the rules that need every file (SC001, SC012)
    expected = {"SC102", "SC302", "SC306"} if unparseable else {"SC001", "SC012", "SC302"}
    assert expected <= codes, codes
    assert summary(shared) == summary(alone)


def test_cached_files_are_not_sent_to_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    generate(tmp_path / "s", 300)
    for path in (tmp_path / "s" / "catalog").glob("*.yaml"):
        path.write_text(untemplated(path.read_text()))
    first = compile_store(tmp_path / "s")
    cache = {u.real: u.to_cache() for u in first.units}
    assert cache
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    # a test runner may run threads of its own; the workers here touch none of their locks
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    sent: list[int] = []
    original = compile_module._Compiler._check_in_workers
    monkeypatch.setattr(
        compile_module._Compiler,
        "_check_in_workers",
        lambda self, *a: sent.append(len(out := original(self, *a))) or out,
    )
    again = compile_store(tmp_path / "s", unit_cache=cache)
    # only files the cache could not answer (here: files with warnings) went to workers
    files = [p for p in (tmp_path / "s").rglob("*.yaml") if p.name != "store.yaml"]
    uncached = [p for p in files if str(p.resolve()) not in cache and b"{{" not in p.read_bytes()]
    assert len(cache) > len(uncached)
    assert sent == [len(uncached)]
    assert summary(again) == summary(first)
