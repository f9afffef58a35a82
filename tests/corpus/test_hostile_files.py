"""Files that lie or are not text: bounded YAML, checkpoint configs and marginals checked before allocation,
decode errors named by file and line, non-finite or short PDB records, confined index paths, bounded boxes."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest
import torch
from make_corpus import GOOD_RECORD
from test_bad_inputs import DEBUG, SHIPPED, run_refused

from molgen.config import ConfigError, load_config
from molgen.errors import MolgenInputError

ATOM = "ATOM      1  CA  ALA A   1      11.104   6.134  -6.504  1.00  0.00           C\n"


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels):
        prev, cur = chr(ord("a") + k - 1), chr(ord("a") + k)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(DEBUG.read_text() + billion_laughs())
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"bomb\.yaml.*(aliases|nodes)"):
        load_config(bomb)
    assert time.perf_counter() - start < 5


def test_yaml_nesting_and_duplicate_sections_are_refused_naming_the_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.yaml.*nested"):
        load_config(deep)
    twice = tmp_path / "twice.yaml"
    text = DEBUG.read_text()
    twice.write_text(text + "optim:\n  lr: 0.5\n")
    line = len(text.splitlines()) + 1
    with pytest.raises(ConfigError, match=rf"twice\.yaml: line {line}: duplicate key 'optim'"):
        load_config(twice)
    flow = tmp_path / "flow.yaml"
    flow.write_text(text + "name: a\n")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_config(flow)


def test_override_alias_bomb_is_refused() -> None:
    with pytest.raises(ConfigError, match="override"):
        load_config(DEBUG, ["name=" + "[" * 100 + "]" * 100])


def test_latin1_config_names_the_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(DEBUG.read_bytes() + b"# r\xe9sum\xe9\n")
    line = len(DEBUG.read_bytes().splitlines()) + 1
    run_refused(["train", "--config", str(bad), f"trainer.output_dir={tmp_path / 'run'}"], [tmp_path], capsys,
                str(bad), f"line {line}: not UTF-8")


def lying_checkpoint(tmp_path: Path, name: str, edit) -> Path:
    ckpt = torch.load(SHIPPED, weights_only=True)
    edit(ckpt["hyper_parameters"])
    path = tmp_path / f"{name}.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(("name", "edit", "needle"), [
    ("wide", lambda h: h["config"]["model"].update(scalar_dim=10**6), "model.scalar_dim"),
    ("deep", lambda h: h["config"]["model"].update(num_layers=10**5), "model.num_layers"),
    ("steps", lambda h: h["config"]["diffusion"].update(num_steps=10**9), "diffusion.num_steps"),
    ("nan", lambda h: h["marginals"]["atom_types"].__setitem__(0, float("nan")), "marginals.atom_types holds NaN"),
    ("unnormalised", lambda h: h["marginals"].update(charges=[5.0] * len(h["marginals"]["charges"])),
     "marginals.charges does not sum to 1"),
    ("negative", lambda h: h["marginals"]["extras"].update(is_aromatic=[1.5, -0.5]), "extras.is_aromatic"),
])
def test_a_checkpoint_that_lies_is_refused_before_anything_is_built(name, edit, needle, tmp_path, capsys) -> None:
    ckpt = lying_checkpoint(tmp_path, name, edit)
    run_refused(["sample", "--ckpt", str(ckpt), "--num", "2", "--out", str(tmp_path / "s.sdf"), "--no-progress"],
                [tmp_path], capsys, str(ckpt), needle)


def pdb(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_pdb_parser_reads_latin1_remarks_and_refuses_bad_atom_records(tmp_path: Path) -> None:
    from molgen.data.pocket import PdbFormatError, parse_pdb

    ok = pdb(tmp_path, "remark.pdb", b"REMARK  auteur: Fran\xe7ois\n" + ATOM.encode() * 2)
    assert len(parse_pdb(ok)) == 2
    cases = {"short": (ATOM[:40] + "\n", "short ATOM record"),
             "nan": (ATOM.replace("  11.104", "     nan"), "not finite"),
             "huge": (ATOM.replace("  11.104", "1.0e+300"), "not finite"),
             "latin1": (ATOM.replace("ALA", "AL\xe9"), "not ASCII")}
    for name, (line, needle) in cases.items():
        path = pdb(tmp_path, f"{name}.pdb", ATOM.encode() + line.encode("latin-1"))
        with pytest.raises(PdbFormatError, match=rf"{name}\.pdb:2: .*{needle}"):
            parse_pdb(path)


def test_docking_refuses_a_receptor_with_nan_or_too_many_atoms(tmp_path: Path, monkeypatch) -> None:
    from molgen.dock import receptor
    from molgen.dock.errors import DockingInputError

    nan = pdb(tmp_path, "nan.pdb", (ATOM + ATOM.replace("  -6.504", "     nan")).encode())
    with pytest.raises(DockingInputError, match=r"nan\.pdb: line 2: coordinates .* not finite"):
        receptor.prepare_receptor(nan, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(receptor, "MAX_RECEPTOR_ATOMS", 3)
    big = pdb(tmp_path, "big.pdb", ATOM.encode() * 4)
    with pytest.raises(DockingInputError, match="more than 3 atoms"):
        receptor.prepare_receptor(big, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("name", "body", "needle"), [
    ("structure.cif", "data_1abc\nATOM   1    N N   . MET A 1 1 ? 1.0 2.0 3.0\n", "not a PDB file"),
    ("nan.pdb", ATOM.replace("  11.104", "     nan"), "not finite"),
])
def test_evaluate_refuses_a_protein_it_would_silently_not_use(name, body, needle, tmp_path, capsys) -> None:
    sdf = tmp_path / "mols.sdf"
    sdf.write_text(GOOD_RECORD)
    protein = pdb(tmp_path, name, body.encode())
    run_refused(["evaluate", str(sdf), "--protein", str(protein), "--out", str(tmp_path / "ev"), "--metrics",
                 "basic", "--workers", "1", "--quiet"], [tmp_path], capsys, str(protein), needle)


def test_box_file_and_ledger_decode_errors_name_file_and_line(tmp_path: Path) -> None:
    from molgen.dock.box import read_box_file
    from molgen.dock.results import ResultStore

    box = pdb(tmp_path, "box.txt", b"center_x = 1\ncenter_y = 2 # \xb0\n")
    with pytest.raises(MolgenInputError, match=r"box\.txt: line 2: not UTF-8 text \(byte 0xb0"):
        read_box_file(box)
    out = tmp_path / "dock"
    out.mkdir()
    (out / "docking.json").write_bytes(b'{"run": {"note": "\xe9"}}')
    with pytest.raises(MolgenInputError, match=r"docking\.json: line 1: not UTF-8"):
        ResultStore(out, {"run": {}}).load_previous()


@pytest.mark.parametrize("size", [(1e5, 1e5, 1e5), (130.0, 10.0, 10.0), (90.0, 90.0, 90.0)])
def test_vina_boxes_are_bounded(size, tmp_path: Path, capsys) -> None:
    ligands = pdb(tmp_path, "l.sdf", GOOD_RECORD.encode())
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--center", "0", "0", "0",
                 "--size", *map(str, size), "--out", str(tmp_path / "d")], [tmp_path], capsys,
                "too large for Vina's grids")


def test_crossdocked_index_and_split_paths_stay_inside_the_raw_folder(tmp_path: Path) -> None:
    from molgen.data.crossdocked_raw import CrossDockedFormatError, load_index, load_name_split

    for name in ("../../etc/passwd", "/etc/passwd", "a/../../b.sdf"):
        index = tmp_path / "index.pkl"
        index.write_bytes(pickle.dumps([("a/a_pocket10.pdb", name, "a.pdb", 1.0)]))
        with pytest.raises(CrossDockedFormatError, match="not a file inside the raw folder"):
            load_index(index)
    tsv = pdb(tmp_path, "test.tsv", b"Protein\tLigand\nr\xe9c.pdb\tl.sdf\n")
    with pytest.raises(MolgenInputError, match=r"test\.tsv: line 2, field 1 \('Protein'\): not UTF-8"):
        load_name_split(tsv)


def huge_coordinate_sdf(tmp_path: Path, form: str, value: str = "1e300") -> tuple[Path, str]:
    """Water whose second atom has x = ``value``: a V2000 file (RDKit refuses the field) or a V3000 one (RDKit
    reads it); returns the file and the line of that atom in the record."""
    from rdkit import Chem

    path = tmp_path / f"huge_{form}.sdf"
    if form == "v2000":
        atom = "    0.7572   -0.4692 H"
        path.write_text(GOOD_RECORD.replace(f"    0.0000{atom}", f"{float(value):>10g}{atom}"))
        return path, "line 6 of the record"
    mol = Chem.MolFromMolBlock(GOOD_RECORD, removeHs=False)
    block = Chem.MolToV3KMolBlock(mol)
    lines = block.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("M  V30 2 H "))
    fields = lines[k].split()  # M V30 2 H x y z 0
    lines[k] = "M  V30 " + " ".join([*fields[2:4], value, *fields[5:]])
    path.write_text("\n".join(lines) + "\n$$$$\n")
    return path, f"line {k + 1} of the record"


@pytest.mark.parametrize("value", ["1e300", "nan", "-2e5"])
@pytest.mark.parametrize("form", ["v2000", "v3000"])
@pytest.mark.parametrize("command", ["evaluate", "dock", "data"])
def test_a_coordinate_of_1e300_is_refused_naming_file_line_and_field(command, form, value, tmp_path, capsys) -> None:
    sdf, line = huge_coordinate_sdf(tmp_path, form, value)
    argv = {"evaluate": ["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--metrics", "basic", "--workers", "1",
                         "--quiet"],
            "dock": ["dock", str(sdf), "--receptor", str(tmp_path / "r.pdb"), "--out", str(tmp_path / "d"),
                     "--center", "0", "0", "0", "--size", "20", "20", "20"],
            "data": ["data", "custom", "--sdf", str(sdf), "--name", "h", "--root", str(tmp_path / "d"),
                     "--no-progress"]}[command]
    reason = "NaN or infinite coordinates" if value == "nan" else "coordinate out of range"
    run_refused(argv, [tmp_path], capsys, str(sdf), "record 0", reason, line, "x = ")


def test_a_reference_ligand_with_a_1e300_coordinate_is_refused(tmp_path: Path, capsys) -> None:
    sdf, line = huge_coordinate_sdf(tmp_path, "v3000")
    ligands = pdb(tmp_path, "l.sdf", GOOD_RECORD.encode())
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--box-from", str(sdf), "--out",
                 str(tmp_path / "d")], [tmp_path], capsys, str(sdf), "record 0 is not a readable molecule",
                "coordinate out of range", line)


@pytest.mark.parametrize(("body", "field"), [(b"Protein\tLigand\nr\xe9c.pdb\tl.sdf\n", "field 1 ('Protein')"),
                                           (b"Protein\tLigand\na.pdb\tl\xe9.sdf\n", "field 2 ('Ligand')")])
def test_a_latin1_split_tsv_is_refused_naming_line_and_field(body, field, tmp_path, capsys) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "index.pkl").write_bytes(pickle.dumps([("a/a_pocket10.pdb", "a/a.sdf", "a.pdb", 1.0)]))
    tsv = pdb(tmp_path, "test.tsv", body)
    run_refused(["data", "crossdocked", "--raw", str(raw), "--split-file", str(tsv), "--root", str(tmp_path / "d"),
                 "--no-progress"], [tmp_path], capsys, str(tsv), f"line 2, {field}: not UTF-8 text (byte 0xe9")


def test_a_latin1_geom_split_file_is_refused_naming_the_line(tmp_path, capsys) -> None:
    raw = tmp_path / "rdkit_folder"
    raw.mkdir()
    (raw / "summary_drugs.json").write_text("{}")
    split = pdb(tmp_path, "split.json", b'{"train": ["CCO"],\n "test": ["C\xe9"]}\n')
    run_refused(["data", "geom", "--raw", str(raw), "--split-file", str(split), "--root", str(tmp_path / "d"),
                 "--no-progress"], [tmp_path], capsys, str(split), "line 2: not UTF-8 text (byte 0xe9")
