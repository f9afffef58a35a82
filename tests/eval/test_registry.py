"""Metric registry and presets shipped inside the package."""

from __future__ import annotations

import pytest

from molgen.eval import available_groups, available_presets, resolve_metrics


def test_presets_are_shipped_and_resolve():
    assert {"basic", "standard", "full"} <= set(available_presets())
    assert [g.name for g in resolve_metrics("basic")] == ["validity", "stability"]
    full = [g.name for g in resolve_metrics("full")]
    assert set(full) == set(available_groups())  # the full preset runs every registered group


def test_lists_mix_presets_and_groups_without_duplicates():
    names = [g.name for g in resolve_metrics("basic,stability,diversity")]
    assert names == ["validity", "stability", "diversity"]
    assert [g.name for g in resolve_metrics(["strain"])] == ["strain"]


def test_unknown_metric_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown metric group 'stabilty'.*presets: basic"):
        resolve_metrics("basic,stabilty")


def test_every_summary_key_is_defined():
    for group in available_groups().values():
        assert group.definitions, group.name
        assert all(isinstance(v, str) and v for v in group.definitions.values())
