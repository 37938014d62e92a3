"""Preflight of a PDF against the rules of submission-grade PDFs (ICH M8 eCTD / FDA PDF specifications).

Checks (each failure is one readable message):
- PDF version 1.4-1.7 (FDA accepts 1.4 to 1.7; PDF/A-1/2 are based on these);
- every font is embedded (a FontFile, FontFile2 or FontFile3 stream in each font descriptor,
  Type0 fonts checked through their descendant fonts, Type3 fonts count as embedded);
- bookmarks (an outline) exist, and the document opens with the bookmarks panel (/PageMode /UseOutlines);
- no JavaScript (document or page actions, JavaScript name tree), no embedded files (attachments),
  and no annotations other than links;
- optionally, the page size is the agency's paper (Letter 612 x 792 pt or A4 595.28 x 841.89 pt).
Uses pypdf.
"""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import IndirectObject

PAPER_POINTS = {"letter": (612.0, 792.0), "a4": (595.28, 841.89)}


def _resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _font_embedded(font) -> bool:
    font = _resolve(font)
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        return all(_font_embedded(d) for d in _resolve(font.get("/DescendantFonts", [])))
    desc = _resolve(font.get("/FontDescriptor"))
    return desc is not None and any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _has_javascript(obj, seen: set[int], depth: int = 0) -> bool:
    """Search an object graph (bounded) for JavaScript actions."""
    if depth > 12:
        return False
    if isinstance(obj, IndirectObject):
        if obj.idnum in seen:
            return False
        seen.add(obj.idnum)
        obj = obj.get_object()
    if isinstance(obj, dict):
        if obj.get("/S") == "/JavaScript" or "/JS" in obj:
            return True
        return any(_has_javascript(v, seen, depth + 1) for k, v in obj.items() if k not in ("/Parent", "/P"))
    if isinstance(obj, list):
        return any(_has_javascript(v, seen, depth + 1) for v in obj)
    return False


def paper_of(reader: PdfReader) -> str | None:
    box = reader.pages[0].mediabox
    w, h = float(box.width), float(box.height)
    for name, (pw, ph) in PAPER_POINTS.items():
        if abs(w - pw) < 1.5 and abs(h - ph) < 1.5:
            return name
    return None


def preflight_pdf(path: str | Path, expected_paper: str | None = None) -> list[str]:
    """Problems found in a PDF file (empty list: the PDF passes)."""
    return _preflight(str(Path(path)), expected_paper)


def preflight_bytes(pdf: bytes, expected_paper: str | None = None) -> list[str]:
    """Problems found in a PDF held in memory (the build checks what it just rendered, before writing it)."""
    return _preflight(io.BytesIO(pdf), expected_paper)


def _preflight(source, expected_paper: str | None) -> list[str]:
    try:
        reader = PdfReader(source, strict=False)
        n_pages = len(reader.pages)
    except (PdfReadError, OSError, ValueError) as err:
        return [f"not a readable PDF: {err}"]
    problems: list[str] = []
    version = reader.pdf_header.replace("%PDF-", "")
    if version not in ("1.4", "1.5", "1.6", "1.7"):
        problems.append(f"PDF version {version} (allowed: 1.4 to 1.7)")
    root = reader.trailer["/Root"].get_object()
    if not reader.outline:
        problems.append("no bookmarks (document outline)")
    if root.get("/PageMode") != "/UseOutlines":
        problems.append("does not open with the bookmarks panel (/PageMode /UseOutlines missing)")
    names = _resolve(root.get("/Names")) or {}
    if "/JavaScript" in names or _has_javascript(root.get("/OpenAction"), set()) or \
            _has_javascript(root.get("/AA"), set()):
        problems.append("contains JavaScript")
    if "/EmbeddedFiles" in names:
        problems.append("contains embedded files (attachments)")
    missing_fonts: set[str] = set()
    for i, page in enumerate(reader.pages, start=1):
        if "/AA" in page and _has_javascript(page["/AA"], set()):
            problems.append(f"page {i}: JavaScript page action")
        for annot in _resolve(page.get("/Annots", [])) or []:
            annot = _resolve(annot)
            subtype = annot.get("/Subtype")
            if subtype != "/Link":
                problems.append(f"page {i}: annotation of type {subtype} (only links are allowed)")
            elif _has_javascript(annot.get("/A"), set()):
                problems.append(f"page {i}: link runs JavaScript")
        resources = _resolve(page.get("/Resources")) or {}
        fonts = _resolve(resources.get("/Font")) or {}
        for name, font in fonts.items():
            if not _font_embedded(font):
                base = _resolve(font).get("/BaseFont", name)
                missing_fonts.add(str(base))
    if missing_fonts:
        problems.append(f"fonts not embedded: {', '.join(sorted(missing_fonts))}")
    if expected_paper is not None and n_pages:
        paper = paper_of(reader)
        if paper != expected_paper:
            box = reader.pages[0].mediabox
            problems.append(f"page size {float(box.width):.0f} x {float(box.height):.0f} pt is not "
                            f"{expected_paper} ({PAPER_POINTS[expected_paper][0]:.0f} x "
                            f"{PAPER_POINTS[expected_paper][1]:.0f} pt)")
    return problems
