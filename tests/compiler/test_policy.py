"""The policy block of store.yaml: SC401, SC402, references to unmanaged resources, and
what the compiled desired state carries for the planner (policy, definition files)."""

from __future__ import annotations

from storecfg.compiler.cache import compile_cached

from .conftest import STORE_YAML, Store


def test_sc401_a_defined_resource_matching_an_unmanaged_pattern(full_store: Store) -> None:
    full_store.write(
        "store.yaml", STORE_YAML + "policy:\n  unmanaged: [payment_methods.c*, tax_rules]\n"
    )
    assert full_store.lines() == [
        "s/base.yaml:8:10: SC401 payment_methods.card: payment_methods.card matches the "
        "policy.unmanaged pattern 'payment_methods.c*' in store.yaml: a resource is either "
        "defined here or not managed here. Remove the resource, or narrow the pattern",
        "s/base.yaml:29:10: SC401 tax_rules.us-ca: tax_rules.us-ca matches the policy.unmanaged "
        "pattern 'tax_rules' in store.yaml: a resource is either defined here or not managed "
        "here. Remove the resource, or narrow the pattern",
    ]


def test_sc402_and_bad_patterns(full_store: Store) -> None:
    full_store.write(
        "store.yaml",
        STORE_YAML + "policy:\n  deletes: deny\n  unmanaged: [tax_rule, 'skus.', Skus]\n",
    )
    lines = full_store.lines()
    assert lines[0] == (
        "s/store.yaml:6:15: SC402 policy.unmanaged[0]: unknown resource kind 'tax_rule' in "
        "pattern 'tax_rule'; did you mean 'tax_rules'?"
    )
    assert [line.split(" ")[1:3] for line in lines[1:]] == [
        ["SC304", "policy.unmanaged[1]:"],
        ["SC304", "policy.unmanaged[2]:"],
    ]


def test_a_reference_to_an_unmanaged_resource_is_left_to_the_live_store(
    full_store: Store,
) -> None:
    base = (full_store.root / "base.yaml").read_text()
    full_store.write("base.yaml", base.replace("terms: [tos]", "terms: [tos, vendor-msft]"))
    assert full_store.lines() == [
        "s/base.yaml:23:59: SC001 screens.accept.terms[1]: terms.vendor-msft does not exist"
    ]
    full_store.write("store.yaml", STORE_YAML + "policy: {unmanaged: [terms.vendor-*]}\n")
    assert full_store.lines() == []


def test_the_desired_state_carries_the_policy_and_the_definition_files(
    full_store: Store,
) -> None:
    full_store.write("more/empty.yaml", "skus: []\n")
    full_store.write(
        "store.yaml",
        STORE_YAML.replace('["*.yaml"]', '["*.yaml", "more/*.yaml"]') + "policy: {deletes: deny}\n",
    )
    for _ in range(2):  # compiled, then answered from the cache
        result = compile_cached(full_store.root, cache_dir=full_store.root.parent / "cache")
        desired = result.desired
        assert desired is not None
        assert desired.policy == {"deletes": "deny", "unmanaged": []}
        assert desired.files == ["store.yaml", "base.yaml", "more/empty.yaml"]
        assert desired.file_of("skus.sku-a") == "base.yaml"
