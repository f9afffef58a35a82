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
    """Every key a group's summary holds, computed on real molecules against a reference (so the comparisons
    run too), is described in its definitions, or by the group's ``<name>`` wildcard entry (PoseBusters'
    per-check keys); every definition is a sentence. Docking needs Vina and a receptor: tests/dock."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from molgen.chem.sanitize import canonical_smiles
    from molgen.eval.group import EvalOptions, ReferenceData
    from molgen.eval.registry import GROUPS
    from molgen.eval.runner import compute_rows, run_evaluation

    mols = []
    for seed, smiles in enumerate(["CCO", "c1ccccc1O", "CC(=O)N", "C1CC1C#N"]):
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
        mols.append(mol)
    names = [name for name in available_groups() if name != "docking"]
    rows, _ = compute_rows(mols[:2], [GROUPS[name] for name in names], EvalOptions(), 1, False)
    reference = ReferenceData("first two", frozenset(canonical_smiles(m) for m in mols[:2]), rows)
    result = run_evaluation(mols, names, reference=reference)
    for name in names:
        group = available_groups()[name]
        assert group.definitions and all(isinstance(v, str) and v for v in group.definitions.values()), name
        wildcard = any(key.startswith("<") for key in group.definitions)
        undefined = set(result.summary[name]) - set(group.definitions)
        assert result.summary[name] and (wildcard or not undefined), f"{name}: {sorted(undefined)} undefined"


def test_one_table_and_no_import_loop():
    """Groups are listed in registry.GROUPS only: no metric module registers itself or imports the registry."""
    import ast
    from pathlib import Path

    from molgen.eval import registry

    for name in ("sanity", "validity", "stability", "diversity", "druglike", "geometry", "plausibility", "docking"):
        source = Path(registry.__file__).with_name(f"{name}.py").read_text()
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        assert "molgen.eval.registry" not in imported, name
        assert "register(" not in source, name
    assert available_groups() == registry.GROUPS and available_groups() is not registry.GROUPS
    for preset in available_presets():
        assert set(registry.load_preset(preset)) <= set(registry.GROUPS), preset
