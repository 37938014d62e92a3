"""Word (DOCX) output of a variant, built from its rendered HTML so that the DOCX says exactly what the HTML says.

One source of prose: the variant's HTML (rendered from the templates) is walked element by element
(``h1``-``h3``, ``p``, ``table`` with its ``caption``, ``figure`` with its ``figcaption``, ``ul``/``ol``) and
each becomes its Word counterpart with a real Word style, so a writer can co-author with tracked changes:

- headings use the built-in styles Heading 1-3 and carry a bookmark named after the HTML ``id`` of the heading
  or of the section it opens; internal links (``href="#id"``) become hyperlinks to those bookmarks;
- the HTML table of contents becomes a Word TOC field (levels 1-3, hyperlinked; Word fills the page numbers
  when the fields are updated);
- tables are Word tables in the Table Grid style with a repeating header row, their captions (style Caption)
  numbered with ``SEQ Table`` fields and bookmarked (``Table_1``, ...); figures are the same matplotlib figures
  as the HTML's SVGs, drawn as PNG at print resolution (300 dpi), captioned with ``SEQ Figure`` fields;
- deterministic bytes: the core properties carry the document date, and the package is rewritten with fixed
  zip timestamps and file order (python-docx otherwise stamps the current time).

Word's file format: ECMA-376 (Office Open XML), Part 1, sections 17.16 (fields: TOC, SEQ) and 17.13.6
(bookmarks).  Uses python-docx and lxml.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

import lxml.html
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

#: resolution of the figures in the DOCX (print resolution)
FIGURE_DPI = 300
#: text width of the page (inches) for letter and A4 with 1-inch margins
PAGE_SIZES = {"letter": (8.5, 11.0), "a4": (8.27, 11.69)}
MARGIN_IN = 1.0
#: fixed timestamp of every zip member (the zip format cannot store dates before 1980)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

#: the paragraph style of table cells (a real style, so a writer can restyle all tables at once)
TABLE_TEXT_STYLE = "Table Text"
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 3}
_SKIP = {"script", "style", "head", "svg", "metadata"}
_CAPTION_PREFIX = re.compile(r"^\s*(Figure|Table)\s*[0-9.]*\s*[:.]\s*", re.IGNORECASE)
_FIGURE_MARK = "dossier-figure:"


def _bookmark_name(html_id: str) -> str:
    """A Word bookmark name for an HTML id: letters, digits and underscores, starting with a letter, <= 40."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", html_id)
    if not name[:1].isalpha():
        name = "b_" + name
    return name[:40]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _fld_char(kind: str):
    r = OxmlElement("w:r")
    f = OxmlElement("w:fldChar")
    f.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        f.set(qn("w:dirty"), "true")  # Word updates the field when it opens the file
    r.append(f)
    return r


def _field_start(instr: str) -> list:
    """The runs that open a complex field: begin, the instruction, separate (ECMA-376 Part 1, 17.16.18)."""
    r = OxmlElement("w:r")
    t = OxmlElement("w:instrText")
    t.set(qn("xml:space"), "preserve")
    t.text = f" {instr} "
    r.append(t)
    return [_fld_char("begin"), r, _fld_char("separate")]


class _Writer:
    """Walks the HTML tree and appends Word content to a python-docx Document."""

    def __init__(self, doc, pngs: dict[str, bytes], text_width_in: float):
        self.doc = doc
        self.pngs = pngs
        self.text_width = text_width_in
        self.bookmark_id = 0
        self.bookmarks: set[str] = set()
        self.targets: set[str] = set()
        self.seq = {"Figure": 0, "Table": 0}
        self.table_text = doc.styles[TABLE_TEXT_STYLE]

    # -- runs ---------------------------------------------------------------------------------------------
    @staticmethod
    def _field(paragraph, instr: str, shown: str) -> None:
        """A complex field (begin, instruction, separate, cached result, end) in ``paragraph``."""
        for el in _field_start(instr):
            paragraph._p.append(el)
        paragraph.add_run(shown)
        paragraph._p.append(_fld_char("end"))

    def _bookmark(self, paragraph, html_id: str | None) -> None:
        if not html_id:
            return
        name = _bookmark_name(html_id)
        if name in self.bookmarks:
            return
        self.bookmarks.add(name)
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self.bookmark_id))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self.bookmark_id))
        self.bookmark_id += 1
        paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, start)
        paragraph._p.append(end)

    def _hyperlink(self, paragraph, anchor: str, text: str, fmt: dict) -> None:
        link = OxmlElement("w:hyperlink")
        link.set(qn("w:anchor"), _bookmark_name(anchor))
        link.set(qn("w:history"), "1")
        run = paragraph.add_run(text)
        self._format(run, fmt)
        link.append(run._r)
        paragraph._p.append(link)

    @staticmethod
    def _format(run, fmt: dict) -> None:
        if fmt.get("b"):
            run.bold = True
        if fmt.get("i"):
            run.italic = True
        if fmt.get("sub"):
            run.font.subscript = True
        if fmt.get("sup"):
            run.font.superscript = True
        if fmt.get("code"):
            run.font.name = "Courier New"

    def inline(self, paragraph, el, fmt: dict | None = None) -> None:
        """Append the text of ``el`` (and its inline children) to ``paragraph`` as formatted runs."""
        fmt = dict(fmt or {})
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("strong", "b", "th"):
            fmt["b"] = True
        elif tag in ("em", "i"):
            fmt["i"] = True
        elif tag in ("sub", "sup", "code"):
            fmt[tag] = True
        # an internal link is one hyperlink; its spans (an entry of the lists of tables and figures marks its
        # label and evidence-linked numbers) carry no formatting
        if tag == "a" and (el.get("href") or "").startswith("#") and all(c.tag == "span" for c in el.iter()
                                                                          if c is not el):
            text = el.text_content()
            if text:
                self.targets.add(_bookmark_name(el.get("href")[1:]))
                self._hyperlink(paragraph, el.get("href")[1:], _norm_inline(text), fmt)
            return
        if el.text and tag not in _SKIP:
            self._format(paragraph.add_run(_norm_inline(el.text)), fmt)
        for child in el:
            ctag = child.tag if isinstance(child.tag, str) else ""
            if ctag == "br":
                paragraph.add_run().add_break(WD_BREAK.LINE)
            elif ctag and ctag not in _SKIP:
                self.inline(paragraph, child, fmt)
            if child.tail:
                self._format(paragraph.add_run(_norm_inline(child.tail)), fmt)

    # -- blocks -------------------------------------------------------------------------------------------
    def paragraph(self, el, style: str | None = None):
        p = self.doc.add_paragraph(style=style)
        self.inline(p, el)
        self._bookmark(p, el.get("id"))
        return p

    def heading(self, el, level: int, section_id: str | None) -> None:
        p = self.doc.add_paragraph(style=f"Heading {level}")
        self.inline(p, el)
        self._bookmark(p, el.get("id"))
        self._bookmark(p, section_id)

    def caption(self, kind: str, el, html_id: str | None = None) -> None:
        """A numbered caption: "Figure {SEQ Figure}: text" in the Caption style, bookmarked ``Figure_n``."""
        self.seq[kind] += 1
        p = self.doc.add_paragraph(style="Caption")
        p.add_run(f"{kind} ")
        self._field(p, f"SEQ {kind} \\* ARABIC", str(self.seq[kind]))
        p.add_run(": ")
        # the HTML's own "Figure:" / "Table 3:" prefix is replaced by the numbered field
        first = len(p.runs)
        self.inline(p, el)
        runs = p.runs[first:]
        if runs:
            runs[0].text = _CAPTION_PREFIX.sub("", runs[0].text)
        self._bookmark(p, f"{kind}_{self.seq[kind]}")
        self._bookmark(p, html_id)
        if kind == "Table":
            p.paragraph_format.keep_with_next = True

    def table(self, el) -> None:
        cap = el.find("caption")
        if cap is not None:
            self.caption("Table", cap, el.get("id"))
        rows = [r for r in el.iter("tr")]
        if not rows:
            return
        width = max(sum(int(c.get("colspan") or 1) for c in r if c.tag in ("td", "th")) for r in rows)
        table = self.doc.add_table(rows=0, cols=width)
        table.style = "Table Grid"
        for r in rows:
            cells = [c for c in r if c.tag in ("td", "th")]
            row = table.add_row()
            header = r.getparent().tag == "thead" or (cells and all(c.tag == "th" for c in cells))
            if header:
                trpr = row._tr.get_or_add_trPr()
                h = OxmlElement("w:tblHeader")
                trpr.append(h)
            col = 0
            word_cells = row.cells
            for c in cells:
                span = min(int(c.get("colspan") or 1), width - col)
                if span <= 0:
                    break
                cell = word_cells[col]
                if span > 1:
                    cell = cell.merge(word_cells[col + span - 1])
                para = cell.paragraphs[0]
                para._p.style = self.table_text.style_id  # (set by id: the style lookup by name is slow)
                self.inline(para, c)
                if col == 0:
                    self._bookmark(para, r.get("id"))
                col += span
        self._column_widths(table, rows, width)
        self.doc.add_paragraph()

    def _column_widths(self, table, rows, width: int) -> None:
        """Column widths from the content (as a browser's automatic table layout does), not equal shares:
        each column gets at least its longest word and at most about 40 characters of its longest cell."""
        need = [4] * width
        for r in rows:
            cells = [c for c in r if c.tag in ("td", "th")]
            if any(int(c.get("colspan") or 1) > 1 for c in cells):
                continue
            for i, c in enumerate(cells[:width]):
                text = _norm(c.text_content())
                longest_word = max((len(w) for w in text.split()), default=0)
                need[i] = max(need[i], longest_word, min(len(text), 40))
        total = sum(need)
        widths = [Inches(self.text_width * n / total) for n in need]
        table.autofit = False
        for i, col in enumerate(table.columns):
            col.width = widths[i]
        for row in table.rows:
            tcs = row._tr.tc_lst
            if len(tcs) == width:
                for i, tc in enumerate(tcs):
                    tc.width = widths[i]

    def figure(self, el) -> None:
        name = None
        for node in el.iter():
            if isinstance(node.tag, str) and node.tag == "img" and (node.get("alt") or "").startswith(_FIGURE_MARK):
                name = node.get("alt")[len(_FIGURE_MARK):]
        if name is not None and name in self.pngs:
            png = self.pngs[name]
            w_px, h_px = _png_size(png)
            width = min(w_px / FIGURE_DPI, self.text_width)
            p = self.doc.add_paragraph()
            p.paragraph_format.keep_with_next = True
            p.add_run().add_picture(io.BytesIO(png), width=Inches(width))
        cap = el.find("figcaption")
        if cap is not None:
            self.caption("Figure", cap, el.get("id"))

    def list(self, el, numbered: bool, marked: bool = True) -> None:
        style = ("List Number" if numbered else "List Bullet") if marked else None
        for li in el:
            if li.tag != "li":
                continue
            nested = [c for c in li if c.tag in ("ul", "ol")]
            for c in nested:
                li.remove(c)
            p = self.doc.add_paragraph(style=style)
            self.inline(p, li)
            for c in nested:
                self.list(c, c.tag == "ol")

    def toc(self, nav) -> None:
        """A TOC field whose cached result is the HTML's own contents list (one paragraph per entry, linked),
        so the contents read right before Word updates the field (and page numbers) on opening."""
        heading = next(iter(nav.iter("h1", "h2", "h3")), None)
        if heading is not None:
            p = self.doc.add_paragraph(style="TOC Heading")
            self.inline(p, heading)
        entries = [li for li in nav.iter("li")]
        paras = []
        for li in entries:
            depth = sum(1 for a in li.iterancestors() if a.tag in ("ol", "ul")) - 1
            p = self.doc.add_paragraph()
            p.paragraph_format.left_indent = Inches(0.3 * depth)
            link = next(iter(li.iter("a")), None)
            text = _norm(link.text_content() if link is not None else (li.text or ""))
            if link is not None and (link.get("href") or "").startswith("#"):
                self.targets.add(_bookmark_name(link.get("href")[1:]))
                self._hyperlink(p, link.get("href")[1:], text, {})
            else:
                p.add_run(text)
            paras.append(p)
        if not paras:
            paras.append(self.doc.add_paragraph())
        first, last = paras[0]._p, paras[-1]._p
        at = 1 if first.pPr is not None else 0
        for el in reversed(_field_start('TOC \\o "1-3" \\h \\z \\u')):
            first.insert(at, el)
        last.append(_fld_char("end"))

    def block(self, el, section_id: str | None = None) -> None:
        """Emit ``el``'s children as Word blocks (text directly inside a container becomes a paragraph)."""
        pending_id = section_id or None
        if el.text and el.text.strip():
            p = self.doc.add_paragraph(_norm_inline(el.text))
            self._bookmark(p, pending_id)
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            cls = (child.get("class") or "").split()
            if not tag or tag in _SKIP or "running" in cls or ("sidebar" in cls and tag == "nav"):
                pass
            elif tag == "nav" and "toc" in cls:
                # the title page, then the contents on pages of their own (as in the PDF)
                if self.doc.paragraphs:
                    self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
                self.toc(child)
                self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            elif tag in _HEADINGS:
                style_level = _HEADINGS[tag]
                if "doc-title" in cls:
                    p = self.doc.add_paragraph(style="Title")
                    self.inline(p, child)
                else:
                    self.heading(child, style_level, pending_id)
                pending_id = None
            elif tag == "p":
                p = self.paragraph(child)
                self._bookmark(p, pending_id)
                pending_id = None
            elif tag == "table":
                self.table(child)
            elif tag == "figure":
                self.figure(child)
            elif tag == "img":
                self.figure(_wrap(child))
            elif tag in ("ul", "ol"):
                # the lists of tables and figures have no markers (their entries carry the caption's number)
                self.list(child, tag == "ol", marked="lot" not in cls)
            elif tag in ("section", "div", "main", "body", "article", "header", "footer", "aside", "nav", "blockquote"):
                self.block(child, child.get("id") or pending_id)
                if child.get("id") is None:
                    pending_id = None
            else:  # an inline element at block level (span, a, strong, ...)
                p = self.doc.add_paragraph()
                self.inline(p, child)
            if child.tail and child.tail.strip() and tag:
                self.doc.add_paragraph(_norm_inline(child.tail))


def _wrap(img):
    fig = lxml.html.Element("figure")
    fig.append(lxml.html.Element("img", alt=img.get("alt") or ""))
    return fig


def _norm_inline(text: str) -> str:
    """Collapse white space as a browser does (keeping single spaces at the ends, which separate runs)."""
    return re.sub(r"\s+", " ", text)


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _swap_figures(html: str, svgs: dict[str, str]) -> str:
    """Replace each figure's inline SVG markup in the HTML by a marker image naming the figure."""
    for name in sorted(svgs, key=lambda n: -len(svgs[n])):
        html = html.replace(svgs[name], f'<img alt="{_FIGURE_MARK}{name}">')
    return html


def deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip package with fixed member timestamps and permissions, members in their original order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 0
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def render_docx(html: str, *, svgs: dict[str, str], pngs: dict[str, bytes], date: str, title: str,
                paper: str = "letter", subject: str = "") -> bytes:
    """The variant as DOCX bytes.

    ``html`` is the variant's rendered HTML; ``svgs`` the figures inserted into it (name -> SVG markup) and
    ``pngs`` the same figures drawn as PNG (name -> bytes, at :data:`FIGURE_DPI`); ``date`` (ISO) is written into
    the core properties so that the bytes depend on the content only."""
    root = lxml.html.document_fromstring(_swap_figures(html, svgs))
    doc = Document()
    width_in, height_in = PAGE_SIZES.get(paper, PAGE_SIZES["letter"])
    for section in doc.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Inches(width_in), Inches(height_in)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Inches(MARGIN_IN))
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    from docx.enum.style import WD_STYLE_TYPE

    table_text = doc.styles.add_style(TABLE_TEXT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    table_text.base_style = normal
    table_text.font.size = Pt(8.5)
    table_text.paragraph_format.space_after = Pt(0)
    writer = _Writer(doc, pngs, width_in - 2 * MARGIN_IN)
    body = root.find("body")
    writer.block(body if body is not None else root)
    # links whose target is not bookmarked would be dead in Word: make them plain text
    for link in list(doc.element.body.iter(qn("w:hyperlink"))):
        if link.get(qn("w:anchor")) not in writer.bookmarks:
            parent = link.getparent()
            at = parent.index(link)
            for run in list(link):
                parent.insert(at, run)
                at += 1
            parent.remove(link)
    stamp = datetime.fromisoformat(date[:10]).replace(tzinfo=UTC)
    props = doc.core_properties
    props.title, props.subject, props.author, props.last_modified_by = title, subject, "dossier", "dossier"
    props.created = props.modified = props.last_printed = stamp
    props.revision = 1
    # Word updates the TOC and caption numbers when the document opens
    settings = doc.settings.element
    upd = OxmlElement("w:updateFields")
    upd.set(qn("w:val"), "true")
    settings.append(upd)
    buf = io.BytesIO()
    doc.save(buf)
    return deterministic_zip(buf.getvalue())

