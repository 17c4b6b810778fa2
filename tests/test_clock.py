from storecfg.clock import utc_compact, utc_iso


def test_iso_and_compact_forms_of_one_instant() -> None:
    ts = 1_796_463_000.75  # 2026-12-05T09:30:00.75Z
    assert utc_iso(ts) == "2026-12-05T09:30:00Z"
    assert utc_compact(ts) == "20261205T093000Z"


def test_now_is_the_default() -> None:
    assert len(utc_iso()) == 20 and utc_iso().endswith("Z")
