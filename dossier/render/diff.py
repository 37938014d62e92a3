"""Compare two built dossier variants (e.g. FDA vs EMA, or this week's FDA build vs last week's).

A variant folder (``output/<study>/<agency>/``) holds ``variant.json``, written by every build: the
evidence hash, the section plan, the local assumptions, the terminology and every evidence-linked
number of the core-evidence sections. The comparison proves the core evidence identical (same hash and
same numbers) or lists each number that differs, and lists the sections and assumptions that differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dossier.errors import DossierError


class NumberChange(BaseModel):
    eid: str
    a: str | None
    b: str | None
    label: str = ""  # the analysis the number belongs to (evidence index title)


class ValueChange(BaseModel):
    key: str
    a: Any = None
    b: Any = None
    label: str = ""  # the key as a reader says it


def label_key(key: str) -> str:
    """A configuration key as a reader says it: ``population_note`` -> ``Population note``."""
    words = [_ACRONYMS.get(w, w) for w in key.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


#: words of configuration keys that a reader writes otherwise
_ACRONYMS = {"ae": "AE", "pmr": "PMR", "kg": "(kg)", "id": "ID", "mtd": "MTD", "ind": "IND"}


def label_value(value: Any) -> str:
    """A value as a reader says it (no Python reprs: None -> not set, lists joined)."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "; ".join(label_value(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{label_key(str(k))}: {label_value(v)}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def label_number(eid: str) -> str:
    from dossier.wording import data_table

    group = eid.split(".")[0]
    return data_table("evidence_groups").get(group, {}).get("title") or label_key(group)


class VariantDiff(BaseModel):
    dir_a: str
    dir_b: str
    agency_a: str
    agency_b: str
    evidence_hash_a: str
    evidence_hash_b: str
    core_identical: bool
    numbers_changed: list[NumberChange]
    sections_a: list[str]
    sections_b: list[str]
    sections_only_a: list[str]
    sections_only_b: list[str]
    section_titles: dict[str, str] = {}
    assumptions_changed: list[ValueChange]
    terms_changed: list[ValueChange]


def load_variant(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / "variant.json"
    if not path.is_file():
        raise DossierError(f"no built dossier variant in {folder}", where=str(path),
                           hint="pass an agency folder of a build, e.g. output/<study>/fda")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DossierError(f"variant.json is not valid JSON: {err}", where=str(path),
                           hint="rebuild the dossier with `dossier build`") from None


def _changes(a: dict[str, Any], b: dict[str, Any]) -> list[ValueChange]:
    return [ValueChange(key=k, a=a.get(k), b=b.get(k), label=label_key(k)) for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


def diff_variants(dir_a: str | Path, dir_b: str | Path) -> VariantDiff:
    va, vb = load_variant(dir_a), load_variant(dir_b)
    na, nb = va["core_numbers"], vb["core_numbers"]
    numbers = [NumberChange(eid=k, a=na.get(k), b=nb.get(k), label=label_number(k))
               for k in sorted(set(na) | set(nb)) if na.get(k) != nb.get(k)]
    sa, sb = va["sections"], vb["sections"]
    titles = {**vb.get("section_titles", {}), **va.get("section_titles", {})}
    titles = {s: titles.get(s, label_key(s)) for s in [*sa, *sb]}
    return VariantDiff(
        dir_a=str(dir_a), dir_b=str(dir_b), agency_a=va["agency"], agency_b=vb["agency"],
        evidence_hash_a=va["evidence_sha256"], evidence_hash_b=vb["evidence_sha256"],
        core_identical=va["evidence_sha256"] == vb["evidence_sha256"] and not numbers,
        numbers_changed=numbers, sections_a=sa, sections_b=sb,
        sections_only_a=[s for s in sa if s not in sb], sections_only_b=[s for s in sb if s not in sa],
        section_titles=titles,
        assumptions_changed=_changes(va["assumptions"], vb["assumptions"]),
        terms_changed=_changes(va["terms"], vb["terms"]))


def format_text(d: VariantDiff) -> str:
    """The comparison as a reader wants it: headings, labels and values, not internal keys."""
    lines = [f"A: {d.dir_a} ({d.agency_a.upper()})", f"B: {d.dir_b} ({d.agency_b.upper()})"]
    if d.core_identical:
        lines.append(f"Core evidence: identical (SHA-256 {d.evidence_hash_a[:16]}..., every core number equal)")
    else:
        lines.append(f"Core evidence: DIFFERS (SHA-256 {d.evidence_hash_a[:16]}... vs {d.evidence_hash_b[:16]}...), "
                     f"{len(d.numbers_changed)} number(s) differ:")
        lines += [f"  {c.label}, {c.eid}: {c.a if c.a is not None else 'absent'} -> "
                  f"{c.b if c.b is not None else 'absent'}" for c in d.numbers_changed]
    if d.sections_only_a or d.sections_only_b:
        for side, only in (("A", d.sections_only_a), ("B", d.sections_only_b)):
            lines.append(f"Sections only in {side}: " + ("; ".join(d.section_titles.get(s, s) for s in only) or "none"))
    else:
        lines.append("Sections: same plan")
    for title, changes in (("Local assumptions that differ", d.assumptions_changed), ("Wording that differs", d.terms_changed)):
        if changes:
            lines.append(f"{title}:")
            lines += [f"  {c.label}: {label_value(c.a)} | {label_value(c.b)}" for c in changes]
    return "\n".join(lines)


def render_diff_html(d: VariantDiff) -> str:
    from dossier.render.html import make_environment

    return make_environment().get_template("diff.html.j2").render(d=d, value=label_value)
