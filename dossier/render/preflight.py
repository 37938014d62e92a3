"""Preflight of a PDF against the rules of submission-grade PDFs (ICH M8 eCTD / FDA PDF specifications).

Checks (each failure is one readable message):
- PDF version 1.4-1.7 (FDA accepts 1.4 to 1.7; PDF/A-1/2 are based on these);
- every font is embedded (a FontFile, FontFile2 or FontFile3 stream in each font descriptor,
  Type0 fonts checked through their descendant fonts, Type3 fonts count as embedded);
- bookmarks (an outline) exist, and the document opens with the bookmarks panel (/PageMode /UseOutlines);
- no JavaScript (document or page actions, JavaScript name tree), no embedded files (attachments),
  and no annotations other than links;
- optionally, the page size is the agency's paper (Letter 612 x 792 pt or A4 595.28 x 841.89 pt);
- the document title is in the metadata (/Info /Title), as the FDA specifications ask (Document Properties);
- a hyperlinked table of contents: one of the first pages says "Contents" and carries internal links;
- every bookmark and internal link "inherits zoom" (an /XYZ destination with a null or 0 zoom);
- Fast Web View: the file is linearized (ISO 32000-1 Annex F);
- optionally (``pdfa``), PDF/A-2b (ISO 19005-2, level B): an output intent (/GTS_PDFA1) with an ICC profile,
  XMP metadata declaring part 2 conformance B, a file identifier and no encryption.
Reference: FDA, "Portable Document Format (PDF) Specifications" (technical specification, eCTD).
Uses pypdf and pikepdf (linearization).
"""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, IndirectObject

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


#: how many leading pages may hold the table of contents
TOC_PAGES = 6
#: internal links a contents page carries at the least
TOC_MIN_LINKS = 3


def _destination(annot_or_item, named: dict):
    """(type, zoom) of an internal link's or bookmark's destination; None for external links."""
    obj = _resolve(annot_or_item)
    if "/Type" in obj and obj.get("/Type") in ("/XYZ", "/Fit", "/FitH", "/FitV", "/FitR", "/FitB", "/FitBH",
                                                 "/FitBV") and "/Page" in obj:  # pypdf Destination (outline)
        return str(obj["/Type"]), obj.get("/Zoom")
    dest = obj.get("/Dest")
    action = _resolve(obj.get("/A"))
    if dest is None and action is not None and action.get("/S") == "/GoTo":
        dest = action.get("/D")
    dest = _resolve(dest)
    if dest is None:
        return None
    if not isinstance(dest, ArrayObject | list):
        target = named.get(str(dest))
        if target is None:
            return ("unresolved", None)
        return str(target.get("/Type")), target.get("/Zoom")
    typ = str(dest[1]) if len(dest) > 1 else "unresolved"
    zoom = dest[4] if typ == "/XYZ" and len(dest) > 4 else None
    return typ, zoom


def _inherits_zoom(dest) -> bool:
    typ, zoom = dest
    return typ == "/XYZ" and (zoom is None or float(zoom) == 0.0)


def _outline_items(outline):
    for item in outline:
        if isinstance(item, list):
            yield from _outline_items(item)
        else:
            yield item


def _is_linearized(source) -> bool:
    """Whether the PDF (a path or a binary stream) is linearized (Fast Web View)."""
    import pikepdf

    if hasattr(source, "seek"):
        source.seek(0)
    with pikepdf.open(source) as pdf:
        return bool(pdf.is_linearized)


def pdfa_problems(reader: PdfReader) -> list[str]:
    """What keeps the PDF from being PDF/A-2b (level B: output intent, XMP identification, ID, no encryption)."""
    import re

    problems = []
    root = reader.trailer["/Root"].get_object()
    intents = [_resolve(i) for i in _resolve(root.get("/OutputIntents", [])) or []]
    if not any(i.get("/S") == "/GTS_PDFA1" and i.get("/DestOutputProfile") is not None for i in intents):
        problems.append("PDF/A: no output intent /GTS_PDFA1 with an ICC profile")
    meta = _resolve(root.get("/Metadata"))
    xmp = meta.get_data().decode("utf-8", "replace") if meta is not None else ""
    part = re.search(r"pdfaid:part(?:=\"|>)\s*(\d)", xmp)
    conformance = re.search(r"pdfaid:conformance(?:=\"|>)\s*([ABU])", xmp)
    if not (part and part.group(1) == "2" and conformance and conformance.group(1) == "B"):
        problems.append("PDF/A: the XMP metadata does not declare PDF/A-2b (pdfaid:part 2, conformance B)")
    if "/ID" not in reader.trailer:
        problems.append("PDF/A: no file identifier (/ID)")
    if reader.is_encrypted:
        problems.append("PDF/A: encrypted")
    return problems


def paper_of(reader: PdfReader) -> str | None:
    box = reader.pages[0].mediabox
    w, h = float(box.width), float(box.height)
    for name, (pw, ph) in PAPER_POINTS.items():
        if abs(w - pw) < 1.5 and abs(h - ph) < 1.5:
            return name
    return None


def _toc_page(page, named: dict) -> bool:
    """A page that says "Contents" and carries at least :data:`TOC_MIN_LINKS` internal links."""
    links = [a for a in (_resolve(page.get("/Annots", [])) or []) if _resolve(a).get("/Subtype") == "/Link"
             and _destination(a, named) not in (None, ("unresolved", None))]
    # pypdf extracts the text of some subset fonts as UTF-16 code units with their NUL high bytes (seen with the
    # combination example's dose-pair grid symbols): drop the NULs before looking for the word
    return len(links) >= TOC_MIN_LINKS and "contents" in (page.extract_text() or "").replace("\x00", "").lower()


def preflight_pdf(path: str | Path, expected_paper: str | None = None, pdfa: bool = False,
                  submission: bool = True) -> list[str]:
    """Problems found in a PDF file (empty list: the PDF passes). ``submission``: also the rules that only a
    document filed with an agency must meet (a hyperlinked contents page); the internal report is not one."""
    return _preflight(str(Path(path)), expected_paper, pdfa, submission)


def preflight_bytes(pdf: bytes, expected_paper: str | None = None, pdfa: bool = False,
                    submission: bool = True) -> list[str]:
    """Problems found in a PDF held in memory (the build checks what it just rendered, before writing it)."""
    return _preflight(io.BytesIO(pdf), expected_paper, pdfa, submission)


def _page_problems(reader: PdfReader) -> list[str]:
    """Per page: JavaScript actions, annotations other than links; then the fonts not embedded (one line)."""
    problems: list[str] = []
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
    return problems


def _zoom_problems(reader: PdfReader, named) -> list[str]:
    """Links and bookmarks whose destination sets a zoom instead of inheriting the reader's."""
    problems: list[str] = []
    dests = [(f"page {i}", _destination(a, named)) for i, page in enumerate(reader.pages, start=1)
             for a in (_resolve(page.get("/Annots", [])) or []) if _resolve(a).get("/Subtype") == "/Link"]
    dests += [(f"bookmark {_resolve(item).get('/Title')!r}", _destination(item, named))
              for item in _outline_items(reader.outline)]
    zoomless = [where for where, d in dests if d is not None and not _inherits_zoom(d)]
    if zoomless:
        problems.append(f"{len(zoomless)} link(s) or bookmark(s) do not inherit zoom (first: {zoomless[0]})")
    return problems


def _preflight(source, expected_paper: str | None, pdfa: bool = False, submission: bool = True) -> list[str]:
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
    problems += _page_problems(reader)
    title = reader.metadata.title if reader.metadata is not None else None
    if not (title and str(title).strip()):
        problems.append("no document title in the metadata (/Info /Title)")
    named = reader.named_destinations
    problems += _zoom_problems(reader, named)
    if submission and not any(_toc_page(reader.pages[i], named) for i in range(min(TOC_PAGES, n_pages))):
        problems.append(f"no hyperlinked table of contents in the first {TOC_PAGES} pages")
    if not _is_linearized(source):
        problems.append("not linearized (Fast Web View)")
    if pdfa:
        problems += pdfa_problems(reader)
    if expected_paper is not None and n_pages:
        paper = paper_of(reader)
        if paper != expected_paper:
            box = reader.pages[0].mediabox
            problems.append(f"page size {float(box.width):.0f} x {float(box.height):.0f} pt is not "
                            f"{expected_paper} ({PAPER_POINTS[expected_paper][0]:.0f} x "
                            f"{PAPER_POINTS[expected_paper][1]:.0f} pt)")
    return problems
