"""A self-contained HTML report: metric tables (legacy and corrected side by side), plots, drawings.

Plots are matplotlib PNGs and molecule drawings RDKit SVGs, both inlined, so the file
opens offline and references no external URL.
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
from matplotlib.figure import Figure
from rdkit import Chem
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from molgen.chem.sanitize import sanitized_copy, without_hydrogens
from molgen.eval.geometry import pooled
from molgen.eval.group import Share
from molgen.eval.runner import EvaluationResult
from molgen.eval.sanity import warnings_of as sanity_warnings
from molgen.eval.stability import warnings_of as stability_warnings

#: (label, legacy key, corrected key) rows of the side-by-side table.
PAIRED = (
    ("validity", "validity/valid_largest_fragment", "validity/valid"),
    ("uniqueness", "validity/uniqueness_legacy", "validity/uniqueness"),
    ("atom stability", "stability/atom_stable_legacy", "stability/atom_stable_corrected"),
    ("molecule stability", "stability/mol_stable_legacy", "stability/mol_stable_corrected"),
    ("atom stability (EDM table)", "stability/atom_stable_edm", "stability/atom_stable_corrected"),
    ("molecule stability (EDM table)", "stability/mol_stable_edm", "stability/mol_stable_corrected"),
)
N_DRAWINGS = 48
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eee}"
    ".plots img{width:360px;margin:4px}.mols div{display:inline-block;margin:4px;text-align:center;font-size:12px}"
)


def _fmt(value) -> str:
    if isinstance(value, Share):
        shown = "n/a" if not math.isfinite(value) else f"{value:.4g}"
        return f"{shown} ({html.escape(value.counted())})"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.4g}"
    return html.escape(str(value))


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _hist(title: str, samples, reference, xlabel: str) -> str:
    fig = Figure(figsize=(4.5, 3.2))
    ax = fig.subplots()
    data = [np.asarray(samples, float)] + ([np.asarray(reference, float)] if len(reference) else [])
    bins = np.histogram_bin_edges(np.concatenate(data), bins=40)
    ax.hist(data[0], bins=bins, density=True, alpha=0.6, label="samples")
    if len(data) > 1:
        ax.hist(data[1], bins=bins, density=True, alpha=0.6, label="reference")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.legend()
    return _png(fig)


def _bars(title: str, samples: dict, reference: dict) -> str:
    keys = sorted(set(samples) | set(reference))
    fig = Figure(figsize=(4.5, 3.2))
    ax = fig.subplots()
    x = np.arange(len(keys))
    ax.bar(x - 0.2, [samples.get(k, 0) for k in keys], width=0.4, label="samples")
    if reference:
        ax.bar(x + 0.2, [reference.get(k, 0) for k in keys], width=0.4, label="reference")
    ax.set_xticks(x, keys)
    ax.set_title(title)
    ax.legend()
    return _png(fig)


def _plots(result: EvaluationResult) -> list[str]:
    from molgen.eval.druglike import histogram

    rows, ref = result.rows, result.reference_rows
    plots = []
    for key, label in (("druglike.qed", "QED"), ("druglike.sa", "SA score"), ("druglike.logp", "logP")):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            plots.append(_hist(label, values, [r[key] for r in ref if r.get(key) is not None], label))
    if any("_elements" in r for r in rows):
        plots.append(_bars("atom types", histogram(rows, "_elements"), histogram(ref, "_elements")))
        plots.append(_bars("ring sizes", histogram(rows, "_ring_sizes"), histogram(ref, "_ring_sizes")))
    for kind, unit, n_types in (("bonds", "Angstrom", 4), ("angles", "degrees", 2), ("torsions", "degrees", 1)):
        samples, reference = pooled(rows, kind), pooled(ref, kind)
        for t in sorted(samples, key=lambda t: -len(samples[t]))[:n_types]:
            plots.append(_hist(f"{kind[:-1]} {t}", samples[t], reference.get(t, []), unit))
    strain = [r["strain.mmff_strain"] for r in rows if r.get("strain.mmff_strain") is not None]
    if strain:
        plots.append(_hist("MMFF strain", strain, [], "kcal/mol"))
    for key, label in (("vina_score", "Vina score"), ("vina_min", "Vina min"), ("vina_dock", "Vina dock")):
        values = [r[f"docking.{key}"] for r in rows if r.get(f"docking.{key}") is not None]
        if values:
            plots.append(_hist(label, values, [], "kcal/mol"))
    return plots


def _drawings(mols: list[Chem.Mol], rows: list[dict]) -> list[str]:
    out = []
    for mol, row in zip(mols, rows, strict=False):
        clean = sanitized_copy(mol)
        if clean is None:
            continue
        flat = without_hydrogens(clean)
        # a 2D picture of a 3D pose: stereo perceived from the 3D coordinates would draw wedges
        # (often at atoms that are not stereocentres once flattened), so the drawing carries none
        Chem.RemoveStereochemistry(flat)
        rdDepictor.Compute2DCoords(flat)
        drawer = rdMolDraw2D.MolDraw2DSVG(220, 180)
        drawer.DrawMolecule(flat)
        drawer.FinishDrawing()
        svg = drawer.GetDrawingText().replace("<?xml version='1.0' encoding='iso-8859-1'?>", "")
        out.append(f"<div>{svg}<br>record {row.get('record', len(out))}</div>")
        if len(out) == N_DRAWINGS:
            break
    return out


def render_html(result: EvaluationResult, mols: list[Chem.Mol]) -> str:
    """The report as one HTML string (no external resources)."""
    flat, defs = result.flat(), result.definitions
    paired = "".join(
        f"<tr><td>{label}</td><td>{_fmt(flat.get(a, 'n/a'))}</td><td>{_fmt(flat.get(b, 'n/a'))}</td>"
        f"<td>{html.escape(defs.get(a, ''))}<br>{html.escape(defs.get(b, ''))}</td></tr>"
        for label, a, b in PAIRED
        if a in flat or b in flat
    )
    used = {k for _, a, b in PAIRED for k in (a, b)}  # shown in the side-by-side table
    others = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td><td>{html.escape(defs.get(k, ''))}</td></tr>"
        for k, v in flat.items()
        if k not in used and not isinstance(v, dict)
    )
    bad = "".join(
        f"<tr><td>{html.escape(b['path'])}</td><td>{b['index']}</td><td>{html.escape(b['reason'])}</td></tr>"
        for b in result.bad_records
    )
    timings = ", ".join(f"{k}: {v:.2f} s" for k, v in result.timings_s.items())
    warnings = sanity_warnings(result.summary.get("sanity", {}))  # shown first, in red
    warnings += stability_warnings(result.summary.get("stability", {}))
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>molgen evaluation</title><style>{STYLE}</style>",
        "</head><body><h1>molgen evaluation</h1>",
        *(f"<p style='color:#b00'><b>{html.escape(w)}</b></p>" for w in warnings),
        f"<p>reference: {html.escape(str(result.reference))}; protein: {html.escape(str(result.protein))}; "
        f"groups: {', '.join(result.groups)}; CPU time per group: {timings}</p>",
        "<h2>Legacy vs corrected</h2><p>Legacy definitions reproduce what EDM/MiDi/EQGAT-diff code reports "
        "(to compare with papers); corrected definitions are the ones molgen recommends.</p>",
        f"<table><tr><th>metric</th><th>legacy</th><th>corrected</th><th>definitions</th></tr>{paired}</table>",
        f"<h2>All metrics</h2><table><tr><th>metric</th><th>value</th><th>definition</th></tr>{others}</table>",
        f"<h2>Distributions</h2><div class='plots'>{''.join(_plots(result))}</div>",
        f"<h2>Molecules</h2><div class='mols'>{''.join(_drawings(mols, result.rows))}</div>",
        f"<h2>Bad records ({len(result.bad_records)})</h2>",
        f"<table><tr><th>file</th><th>record</th><th>reason</th></tr>{bad}</table>" if bad else "<p>none</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
