"""MMFF strain (hydrogens vs skeleton) and relax(none|h|mmff) on real molecules; the input is never changed."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.relax import relax
from molgen.chem.strain import mmff_strain, positions
from molgen.errors import MolgenInputError

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def _minimum(smiles: str, seed: int = 0) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
    assert AllChem.MMFFOptimizeMolecule(mol, maxIters=5000) == 0
    return mol


def _shaken(mol: Chem.Mol, sigma: float, heavy_only: bool = False, seed: int = 0) -> Chem.Mol:
    """Copy with Gaussian noise of ``sigma`` A on the (heavy) atoms: a pose like a generated one."""
    out = Chem.Mol(mol)
    pos = positions(out)
    noise = np.random.default_rng(seed).normal(0.0, sigma, pos.shape)
    if heavy_only:
        noise[[a.GetAtomicNum() == 1 for a in out.GetAtoms()]] = 0.0
    out.GetConformer().SetPositions(pos + noise)
    return out


def _mmff_energy(mol: Chem.Mol) -> float:
    return AllChem.MMFFGetMoleculeForceField(mol, AllChem.MMFFGetMoleculeProperties(mol)).CalcEnergy()


def test_minimum_has_no_strain_and_parts_add_up():
    strain = mmff_strain(_minimum(ASPIRIN))
    assert strain.ok and strain.converged and strain.hydrogens_added == 0
    assert abs(strain.total) < 0.01 and strain.hydrogens > -1e-6 and strain.skeleton > -1e-6
    shaken = _shaken(_minimum(ASPIRIN), 0.05)
    s = mmff_strain(shaken)
    assert s.total == pytest.approx(s.hydrogens + s.skeleton, abs=1e-9)
    assert s.total > 5 and s.hydrogens > 0.5 and s.skeleton > 0.5
    assert s.energy == pytest.approx(_mmff_energy(shaken), abs=1e-6)
    reference = Chem.Mol(shaken)  # RDKit's own local minimisation from the pose ends in the same basin
    AllChem.MMFFOptimizeMolecule(reference, maxIters=5000)
    assert s.total == pytest.approx(s.energy - _mmff_energy(reference), abs=0.05)


def test_strain_of_hydrogens_alone_and_of_the_skeleton_alone():
    base = _minimum("CCOc1ccc(Cl)cc1")
    only_h = mmff_strain(_shaken_h(base))
    assert only_h.hydrogens > 1 and only_h.skeleton < 0.05
    skeleton = mmff_strain(_shaken(base, 0.05, heavy_only=True))
    assert skeleton.skeleton > 1


def _shaken_h(mol: Chem.Mol) -> Chem.Mol:
    out = Chem.Mol(mol)
    pos = positions(out)
    for atom in out.GetAtoms():
        if atom.GetAtomicNum() == 1:  # pull every hydrogen 0.15 A further from its heavy atom
            heavy = atom.GetNeighbors()[0].GetIdx()
            bond = pos[atom.GetIdx()] - pos[heavy]
            pos[atom.GetIdx()] = pos[heavy] + bond * (1 + 0.15 / np.linalg.norm(bond))
    out.GetConformer().SetPositions(pos)
    return out


def test_relax_modes_lower_strain_and_keep_the_molecule():
    pose = _shaken(_minimum(ASPIRIN), 0.08, seed=3)
    pose.SetProp("_Name", "generated")
    before_pos, before_props = positions(pose).copy(), pose.GetPropsAsDict()
    raw = mmff_strain(pose)
    heavy = [a.GetIdx() for a in pose.GetAtoms() if a.GetAtomicNum() > 1]
    results = {mode: relax(pose, mode) for mode in ("none", "h", "mmff")}
    np.testing.assert_array_equal(positions(pose), before_pos)  # the input is never modified
    assert pose.GetPropsAsDict() == before_props
    none, h, mm = results["none"], results["h"], results["mmff"]
    assert not none.relaxed and none.mol is not pose and np.array_equal(positions(none.mol), before_pos)
    assert h.relaxed and np.abs(positions(h.mol)[heavy] - before_pos[heavy]).max() < 1e-6 and h.heavy_rmsd < 1e-6
    after_h = mmff_strain(h.mol)
    assert after_h.hydrogens < 0.05 and after_h.skeleton == pytest.approx(raw.skeleton, abs=0.05)
    after_mm = mmff_strain(mm.mol)
    assert after_mm.total < 0.25 * raw.total and mm.energy_after < h.energy_after < h.energy_before
    shifts = np.linalg.norm(positions(mm.mol)[heavy] - before_pos[heavy], axis=1)
    assert 0 < mm.heavy_rmsd and shifts.max() < 0.35  # restrained: free within 0.3 A, held beyond
    for result in (h, mm):
        assert Chem.MolToSmiles(result.mol) == Chem.MolToSmiles(pose)  # same molecule, same atom order
        assert result.mol.GetProp("_Name") == "generated" and result.mol.GetProp("relax_mode") == result.mode


def test_heavy_atom_input_gets_its_hydrogens_and_untypable_molecules_say_why():
    heavy = Chem.RemoveHs(_minimum(ASPIRIN))
    strain = mmff_strain(heavy)
    assert strain.ok and strain.hydrogens_added == 8 and strain.hydrogens > 0
    relaxed = relax(heavy, "h")
    assert relaxed.relaxed and relaxed.mol.GetNumAtoms() == 21 and heavy.GetNumAtoms() == 13
    boron = _embedded_only("OB(O)c1ccccc1")
    assert "MMFF94 cannot type" in mmff_strain(boron).reason
    result = relax(boron, "mmff")
    assert not result.relaxed and "MMFF94 cannot type" in result.reason
    assert np.array_equal(positions(result.mol), positions(boron))
    broken = Chem.MolFromMolBlock(Chem.MolToMolBlock(_minimum("CC")).replace("  1  2  1", "  1  2  3"),
                                  sanitize=False, removeHs=False)  # a five-valent carbon, as a model may write
    assert mmff_strain(broken).reason == "RDKit cannot sanitise the molecule"
    assert relax(broken, "h").reason == "RDKit cannot sanitise the molecule"
    cyanogen = _minimum("N#CC#N")  # no hydrogen to move: the hydrogen step is a no-op, not a minimiser error
    assert mmff_strain(cyanogen).hydrogens == 0 and relax(cyanogen, "h").relaxed and relax(cyanogen, "mmff").relaxed
    with pytest.raises(MolgenInputError, match="relax mode 'full'"):
        relax(heavy, "full")


def _embedded_only(smiles: str) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=0) == 0
    return mol


def _sdf_text(mols: list[Chem.Mol]) -> str:
    out = []
    for mol in mols:
        block = Chem.MolToMolBlock(mol, kekulize=False)
        items = "".join(f">  <{k}>\n{v}\n\n" for k, v in mol.GetPropsAsDict(includePrivate=False).items())
        out.append(block + items + "$$$$\n")
    return "".join(out)


def test_relax_sdf_writes_beside_the_raw_file_record_for_record(tmp_path):
    from molgen.chem.relax import relax_sdf, relaxed_path
    from molgen.chem.sdf_records import iter_sdf_mols

    pose = _shaken(_minimum(ASPIRIN), 0.08, seed=3)
    boron = _embedded_only("OB(O)c1ccccc1")
    broken = Chem.MolFromMolBlock(Chem.MolToMolBlock(_minimum("CC")).replace("  1  2  1", "  1  2  3"),
                                  sanitize=False, removeHs=False)
    for k, mol in enumerate((pose, boron, broken)):
        mol.SetProp("_Name", f"sample_{k}")
        mol.SetIntProp("seed", k)
    raw = tmp_path / "samples.sdf"
    raw.write_text(_sdf_text([pose, boron, broken]) + "not a record\nM  END\n$$$$\n")
    before = raw.read_bytes()
    assert relaxed_path(raw, "mmff") == tmp_path / "samples.relax_mmff.sdf"
    assert relaxed_path(tmp_path / "x.sdf.gz", "h") == tmp_path / "x.relax_h.sdf.gz"
    reports = {mode: relax_sdf(raw, mode) for mode in ("h", "mmff")}
    assert raw.read_bytes() == before  # the raw model output is never changed
    for mode, report in reports.items():
        assert report.path == relaxed_path(raw, mode) and (report.records, report.relaxed) == (4, 1)
        assert sum(report.failed.values()) == 3 and "1 of 4" in report.summary()
        records = [m for _, m in iter_sdf_mols(report.path, sanitize=False)]
        assert len(records) == 4 and all(isinstance(m, Chem.Mol) for m in records[:3])
        relaxed, typed, unsanitisable = records[:3]
        assert [m.GetProp("_Name") for m in records[:3]] == ["sample_0", "sample_1", "sample_2"]
        assert [m.GetProp("seed") for m in records[:3]] == ["0", "1", "2"]
        assert relaxed.GetProp("relax_mode") == mode and float(relaxed.GetProp("relax_energy_after")) < float(
            relaxed.GetProp("relax_energy_before"))
        assert mmff_strain(relaxed).total < mmff_strain(pose).total
        assert "MMFF94 cannot type" in typed.GetProp("relax_failed")
        assert unsanitisable.GetProp("relax_failed") == "RDKit cannot sanitise the molecule"
        np.testing.assert_allclose(positions(typed), positions(boron), atol=1e-4)  # copied as written
    gz = relax_sdf(raw, "h", tmp_path / "out" / "r.sdf.gz")
    assert gz.path.is_file() and len(list(iter_sdf_mols(gz.path, sanitize=False))) == 4
    with pytest.raises(MolgenInputError, match="overwrite the raw"):
        relax_sdf(raw, "h", raw)
    with pytest.raises(MolgenInputError, match="relax mode 'full'"):
        relax_sdf(raw, "full")
