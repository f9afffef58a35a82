"""molgen.safe_load: what molgen's checkpoints and the dataset pickles hold loads; nothing else does."""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.errors import UnsafeFileError
from molgen.safe_load import load_checkpoint, load_pickle

ROOT = Path(__file__).resolve().parents[1]


class Marker:
    """Unpickling calls ``Path.touch`` on the marker: any code run from a file would leave it behind."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_shipped_checkpoint_loads_and_a_checkpoint_with_an_object_does_not(tmp_path: Path) -> None:
    ckpt = load_checkpoint(ROOT / "checkpoints" / "qm9_small_cpu.ckpt")
    assert ckpt["hyper_parameters"]["config"]["model"] and ckpt["global_step"] > 0
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.ckpt"
    torch.save({**ckpt, "hyper_parameters": {**ckpt["hyper_parameters"], "x": Marker(marker)}}, evil)
    with pytest.raises(UnsafeFileError, match=r"evil\.ckpt: not a molgen checkpoint or unsafe content \(forbidden"):
        load_checkpoint(evil)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_dataset_pickle_contents_load_with_every_protocol(tmp_path: Path, protocol: int) -> None:
    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    record = {"conformers": [{"rd_mol": mol, "totalenergy": np.float64(-1.5), "xyz": np.zeros((3, 4)),
                              "boltzmannweight": 0.5}], "uniqueconfs": 1, "ids": {1, 2}, "pair": (1, "a"),
              "ordered": collections.OrderedDict(a=1), "lists": collections.defaultdict(list, b=[1.0])}
    path = tmp_path / "record.pickle"
    path.write_bytes(pickle.dumps(record, protocol=protocol))
    loaded = load_pickle(path)
    assert Chem.MolToSmiles(loaded["conformers"][0]["rd_mol"]) == Chem.MolToSmiles(mol)
    assert loaded["conformers"][0]["totalenergy"] == -1.5 and loaded["conformers"][0]["xyz"].shape == (3, 4)
    assert loaded["lists"]["b"] == [1.0] and loaded["ordered"] == {"a": 1} and loaded["ids"] == {1, 2}


@pytest.mark.parametrize("payload", ["touch", "eval", "numpy_object_array"])
def test_any_other_global_is_refused_naming_it(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "ran"
    content = {"touch": Marker(marker), "eval": _Eval(f"open({str(marker)!r}, 'w')"),
               "numpy_object_array": np.array([Marker(marker)], dtype=object)}[payload]
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"conformers": [content]}))
    with pytest.raises(UnsafeFileError, match=r"evil\.pickle: refused to unpickle: forbidden global \w"):
        load_pickle(path)
    assert not marker.exists()


class _Eval:
    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


@pytest.mark.parametrize("content", [b"", b"\x80\x04garbage", b"not a pickle at all"])
def test_broken_pickles_are_one_line_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pkl"
    path.write_bytes(content)
    with pytest.raises(UnsafeFileError, match=r"broken\.pkl: cannot unpickle") as info:
        load_pickle(path)
    assert "\n" not in str(info.value)


def test_real_dataset_pickles_load(shared_data: Path) -> None:
    pickles = sorted((shared_data / "geom_like" / "nff_confgen_geomlike").rglob("*.pickle"))
    assert pickles
    for path in pickles:
        assert isinstance(load_pickle(path)["conformers"][0]["rd_mol"], Chem.Mol)
    index = load_pickle(shared_data / "crossdocked" / "crossdocked_pocket10" / "index.pkl")
    assert isinstance(index, list) and len(index[0]) == 4
