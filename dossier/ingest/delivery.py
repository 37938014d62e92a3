"""Cross-checks of a dataset against the delivery files that sit beside it: a Define-XML document and
checksum files. They catch what a file's own format cannot reveal (a file cut at a row boundary, a file of
another version than the one described).

**Define-XML** (CDISC Define-XML 2.0 and 2.1, ``define.xml`` in the dataset's folder). Each dataset is an
``ItemGroupDef`` whose ``def:leaf`` ``xlink:href`` names its file, with one ``ItemRef`` per variable
(``KeySequence`` marks the key variables) and, in 2.1 only, ``def:HasNoData="Yes"`` for a dataset delivered
without records. The standard declares **no record count**: the attributes of ``ItemGroupDef`` are OID, Name,
Repeating, IsReferenceData, SASDatasetName, Domain, Purpose, def:Structure, def:Class, def:CommentOID,
def:ArchiveLocationID, and in 2.1 def:IsNonStandard, def:StandardOID and def:HasNoData (the ItemGroupDef
element of the CDISC Define-XML 2.0 and 2.1 specifications; the R Consortium pilot 1 define.xml, a real
FDA submission, carries none). So define.xml gives these checks:

- a dataset the define.xml declares ``def:HasNoData="Yes"`` whose file holds records: an error naming the
  file and both counts (0 declared, n held);
- variables the define.xml declares that the file lacks: a warning naming them (the file is not the one
  described, or was cut in its header);
- records sharing the key the define.xml declares (``KeySequence``): a warning at the rows.

A truncation at a row boundary is caught where it removes subjects (the subject cross-checks), and by
**checksum files**: ``<file>.sha256`` or ``<file>.md5`` beside the dataset (the ``sha256sum`` / ``md5sum``
format, ``<hex digest>  <file name>``), or a ``SHA256SUMS`` / ``MD5SUMS`` file of the folder listing it; a
digest that differs from the file's is an error naming the file and both digests.

A define.xml that cannot be read is reported as a warning and not used; it never stops ingest. Its size is
capped and a document type declaration (entities) is refused, so a hostile define.xml costs no memory.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from dossier.ingest.readers import RawDataset
    from dossier.ingest.report import IssueCollector

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
XLINK = "{http://www.w3.org/1999/xlink}"
DEF_NAMESPACES = ("{http://www.cdisc.org/ns/def/v2.0}", "{http://www.cdisc.org/ns/def/v2.1}")
#: the largest define.xml read (bytes); real ones are a few MB
MAX_DEFINE_BYTES = 64 << 20
#: rows named in a duplicate-key warning
MAX_ROWS_SHOWN = 20


@dataclass
class GroupDef:
    """One dataset as a define.xml declares it."""

    name: str
    file: str | None
    variables: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    has_no_data: bool = False


@dataclass
class Define:
    path: Path
    groups: list[GroupDef]
    problem: str | None = None

    def group_for(self, file_name: str) -> GroupDef | None:
        """The ItemGroupDef whose leaf names the file (else whose Name is the file's stem)."""
        name = file_name.lower()
        for g in self.groups:
            if g.file and Path(g.file).name.lower() == name:
                return g
        stem = name.split(".")[0]
        return next((g for g in self.groups if g.file is None and g.name.lower() == stem), None)


def _attr(elem: ET.Element, name: str) -> str | None:
    for ns in DEF_NAMESPACES:
        if ns + name in elem.attrib:
            return elem.attrib[ns + name]
    return elem.attrib.get(name)


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if c.tag in (ODM + name, name) or any(c.tag == ns + name for ns in DEF_NAMESPACES)]


@lru_cache(maxsize=16)
def _parse(path: Path, size: int, mtime_ns: int) -> Define:
    """The define.xml at ``path`` (cached per file version)."""
    if size > MAX_DEFINE_BYTES:
        return Define(path, [], f"it is larger than {MAX_DEFINE_BYTES >> 20} MB")
    try:
        data = path.read_bytes()
    except OSError as err:
        return Define(path, [], f"it cannot be read ({err.strerror or err})")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return Define(path, [], "it has a document type declaration (Define-XML uses none)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        return Define(path, [], f"it is not well-formed XML ({err})")
    items = {i.attrib.get("OID"): i.attrib.get("Name", "") for i in root.iter(ODM + "ItemDef")}
    groups = []
    for g in root.iter(ODM + "ItemGroupDef"):
        leaf = next(iter(_children(g, "leaf")), None)
        href = None if leaf is None else leaf.attrib.get(XLINK + "href")
        refs = _children(g, "ItemRef")
        variables = [items.get(r.attrib.get("ItemOID"), "") for r in refs]
        keyed = sorted((int(r.attrib["KeySequence"]), items.get(r.attrib.get("ItemOID"), "")) for r in refs
                       if str(r.attrib.get("KeySequence", "")).isdigit())
        groups.append(GroupDef(name=g.attrib.get("Name", ""), file=href,
                               variables=[v for v in variables if v], keys=[k for _, k in keyed if k],
                               has_no_data=(_attr(g, "HasNoData") or "").strip().lower() == "yes"))
    if not groups:
        return Define(path, [], "it declares no dataset (no ItemGroupDef in the ODM 1.3 namespace)")
    return Define(path, groups)


def find_define(folder: Path) -> Define | None:
    """The define.xml of a dataset folder (any case of the name), or None."""
    try:
        candidates = sorted(p for p in folder.iterdir() if p.name.lower() == "define.xml" and p.is_file())
    except OSError:
        return None
    if not candidates:
        return None
    st = candidates[0].stat()
    return _parse(candidates[0], st.st_size, st.st_mtime_ns)


def check_delivery(resolved: Path, shown: str, raw: RawDataset, issues: IssueCollector) -> None:
    """Cross-check one dataset against its folder's define.xml and checksum files (module docstring)."""
    _check_checksums(resolved, shown, raw, issues)
    define = find_define(resolved.parent)
    if define is None:
        return
    where = _shown_beside(shown, define.path.name)
    if define.problem:
        issues.warning(f"the define.xml beside the datasets is not used: {define.problem}", file=where,
                       hint="fix or remove it; the datasets are read without its cross-checks")
        return
    group = define.group_for(resolved.name)
    if group is None:
        return
    frame = raw.frame
    label = f"the define.xml ({where})"
    if group.has_no_data and len(frame):
        issues.error(f"{label} declares {group.name} has no data (def:HasNoData, 0 records) but the file holds "
                     f"{len(frame)} records", file=shown,
                     hint="deliver the file the define.xml describes, or correct the define.xml")
    names = {str(c).upper() for c in frame.columns}
    missing = [v for v in group.variables if v.upper() not in names]
    if missing and len(frame):
        shown_missing = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        issues.warning(f"{label} declares {len(group.variables)} variables for {group.name}; the file lacks "
                       f"{len(missing)}: {shown_missing}", file=shown, column=missing[0],
                       hint="the file is not the version the define.xml describes, or its header was damaged: "
                            "deliver the pair that belongs together")
    keys = [_column(frame, k) for k in group.keys]
    if keys and all(k is not None for k in keys) and len(frame):
        dup = frame.duplicated(subset=keys, keep=False).to_numpy()
        rows = [i + 1 for i in range(len(frame)) if dup[i]]
        if rows:
            more = f" and {len(rows) - MAX_ROWS_SHOWN} more" if len(rows) > MAX_ROWS_SHOWN else ""
            issues.warning(f"{len(rows)} records share the key {' + '.join(keys)} that {label} declares for "
                           f"{group.name} (rows {', '.join(map(str, rows[:MAX_ROWS_SHOWN]))}{more})",
                           file=shown, column=keys[-1], row=rows[0],
                           hint="each record is one key value: a repeated record or a damaged key")


def _column(frame: pd.DataFrame, name: str) -> str | None:
    upper = {str(c).upper(): str(c) for c in frame.columns}
    return upper.get(name.upper())


def _shown_beside(shown: str, name: str) -> str:
    parent = str(Path(shown).parent)
    return name if parent in ("", ".") else f"{parent}/{name}"


HEX = re.compile(r"^[0-9a-fA-F]+$")


def _check_checksums(resolved: Path, shown: str, raw: RawDataset, issues: IssueCollector) -> None:
    for algo, single, listing in (("sha256", ".sha256", "SHA256SUMS"), ("md5", ".md5", "MD5SUMS")):
        declared = _declared_digest(resolved.with_name(resolved.name + single), None)
        source = resolved.name + single
        if declared is None:
            declared = _declared_digest(resolved.with_name(listing), resolved.name)
            source = listing
        if declared is None:
            continue
        actual = raw.sha256 if algo == "sha256" and raw.sha256 else _digest(resolved, algo)
        if actual is None:
            continue
        if declared.lower() != actual.lower():
            issues.error(f"the file's {algo.upper()} is {actual} but {_shown_beside(shown, source)} declares "
                         f"{declared.lower()}: the file was changed or cut short after the checksum was made",
                         file=shown, hint="re-copy the dataset from its source (or the checksum file with it)")
        return


def _declared_digest(path: Path, name: str | None) -> str | None:
    """The digest for ``name`` in a ``sha256sum``-format file (or its first digest when ``name`` is None)."""
    try:
        if not path.is_file() or path.stat().st_size > 1 << 20:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if not parts or not HEX.match(parts[0]):
            continue
        listed = parts[1].lstrip("*").strip() if len(parts) > 1 else None
        if name is None or (listed is not None and Path(listed).name == name):
            return parts[0]
    return None


def _digest(path: Path, algo: str) -> str | None:
    h = hashlib.new(algo)
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()
