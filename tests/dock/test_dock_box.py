"""The search box: TargetDiff's formula, Vina box files, the outside-the-box check."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.dock import Box, DockingInputError, LigandError, box_around, box_from_ligand_file, read_box_file
from molgen.dock.box import check_inside


def test_box_around_is_bounding_box_middle_plus_five_angstrom():
    coords = np.array([[0.0, 0.0, 0.0], [4.0, 2.0, -2.0], [1.0, 1.0, 6.0]])
    box = box_around(coords)
    assert box.center == pytest.approx((2.0, 1.0, 2.0))
    assert box.size == pytest.approx((9.0, 7.0, 13.0))


def test_box_outside_mask():
    box = Box((0.0, 0.0, 0.0), (10.0, 10.0, 4.0))
    points = np.array([[4.9, -4.9, 1.9], [0.0, 0.0, 2.1], [5.1, 0.0, 0.0]])
    assert box.outside(points).tolist() == [False, True, True]


@pytest.mark.parametrize("center,size", [((0, 0), (1, 1, 1)), ((0, 0, 0), (1, 0, 1)), ((np.nan, 0, 0), (1, 1, 1))])
def test_bad_box_values_are_refused(center, size):
    with pytest.raises(DockingInputError):
        Box(center, size)


def test_vina_box_file(vina_1iep):
    box = read_box_file(vina_1iep / "1iep_receptor.box.txt")
    assert box.center == pytest.approx((15.190, 53.903, 16.917))
    assert box.size == pytest.approx((20.0, 20.0, 20.0))


def test_box_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "box.txt"
    path.write_text("center_x = 1\ncenter_y = oops\n")
    with pytest.raises(DockingInputError, match=r"box.txt: line 2"):
        read_box_file(path)
    path.write_text("center_x = 1\n")
    with pytest.raises(DockingInputError, match=r"box.txt: missing center_y"):
        read_box_file(path)
    with pytest.raises(DockingInputError, match="nope.txt: box file not found"):
        read_box_file(tmp_path / "nope.txt")


def test_reference_ligand_box(vina_1iep):
    mol = Chem.AddHs(Chem.MolFromMolFile(str(vina_1iep / "1iep_ligand.sdf"), removeHs=False), addCoords=True)
    coords = mol.GetConformer().GetPositions()
    box = box_from_ligand_file(vina_1iep / "1iep_ligand.sdf")
    assert np.allclose(box.center, (coords.max(0) + coords.min(0)) / 2)
    assert np.allclose(box.size, coords.max(0) - coords.min(0) + 5.0)
    assert not box.outside(coords).any()


def test_ligand_outside_the_box_has_a_clear_reason():
    mol = Chem.AddHs(Chem.MolFromSmiles("c1ccccc1O"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    check_inside(mol, Box((0.0, 0.0, 0.0), (20.0, 20.0, 20.0)))
    with pytest.raises(LigandError, match=r"ligand outside the box: 7 of 7 heavy atoms"):
        check_inside(mol, Box((30.0, 0.0, 0.0), (20.0, 20.0, 20.0)))
