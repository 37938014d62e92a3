"""Render a dossier's HTML to a submission-grade PDF with WeasyPrint.

- Fonts: only the project's embedded Noto Sans CJK JP subset (``dossier/templates/assets/fonts``), so every
  machine embeds the same glyphs; WeasyPrint embeds (subsets of) every font it uses.
- No network: the URL fetcher serves only files under ``dossier/templates/assets`` and ``data:`` URIs;
  anything else is refused.
- Deterministic: the PDF identifier is derived from the document content, the creation and
  modification dates come from the spec's document date, and the catalog opens with the bookmarks
  panel (``/PageMode /UseOutlines``); bookmarks come from the headings (h1-h3).
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from dossier.errors import BuildError
from dossier.render.html import ASSETS_DIR


def pin_fontconfig() -> Path:
    """Point fontconfig (which WeasyPrint's Pango uses to find fonts) at a configuration that knows only the
    project's font folder, so that no system font can be used or embedded: a character that the project's
    fonts lack is drawn as the same missing-glyph box on every machine, never in a font this machine happens
    to have. Must run before the first font lookup of the process (this module is imported first)."""
    import tempfile

    fonts = (ASSETS_DIR / "fonts").resolve()
    key = hashlib.sha256(str(fonts).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"dossier-fontconfig-{os.getuid() if hasattr(os, 'getuid') else 0}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "fonts.conf"
    text = ('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
            f"  <dir>{_xml_escape(str(fonts))}</dir>\n  <cachedir>{_xml_escape(str(folder / 'cache'))}</cachedir>\n"
            "</fontconfig>\n")
    if not conf.is_file() or conf.read_text(encoding="utf-8") != text:
        tmp = folder / f".fonts.conf.{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, conf)
    os.environ["FONTCONFIG_FILE"] = str(conf)
    os.environ.pop("FONTCONFIG_PATH", None)
    return conf


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pin_text_locale() -> None:
    """Pango takes its default language (line breaking, font choice for text without ``lang``) from the
    process's LC_CTYPE and its preferred languages from PANGO_LANGUAGE / LANGUAGE: pin both, so that the
    PDF's bytes do not depend on the machine's locale (de_DE moved a line break, ja_JP changed bytes)."""
    import locale

    os.environ["PANGO_LANGUAGE"] = "en"
    for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8", "C"):
        try:
            locale.setlocale(locale.LC_CTYPE, name)
            return
        except locale.Error:
            continue


FONTCONFIG_FILE = pin_fontconfig()
pin_text_locale()

import weasyprint.html as _weasyprint_html  # noqa: E402  (after fontconfig is pinned)
import weasyprint.pdf.fonts as _weasyprint_fonts  # noqa: E402
from weasyprint import HTML  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError  # noqa: E402

# One canonical font subsetter on every machine: WeasyPrint subsets embedded fonts with HarfBuzz when the
# system has libharfbuzz-subset, and with fontTools otherwise, and the two write different bytes. The PDF
# must not depend on which system library happens to be installed, so fontTools (a Python dependency, the
# same everywhere) is always used. (WeasyPrint 70 decides on this module attribute; pinned in pyproject.)
_weasyprint_fonts.harfbuzz_subset = None


def _subset_font(self, to_unicode, hinting) -> None:
    """WeasyPrint's fontTools subsetting (the same options: glyph ids kept, GSUB/GPOS/SVG dropped, CFF
    desubroutinized), except that the glyphs' bounding boxes are not recomputed when the subset is written:
    that took ~40 % of the time for the Japanese font's 8,260 glyph slots, and the font's own bounding box
    (``head``) stays that of the full font, which contains every subset (PDF viewers use the descriptor's
    FontBBox, which WeasyPrint computes itself).  Installed as ``Font._fonttools_subset``."""
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont, TTLibError

    options = subset.Options(retain_gids=True, passthrough_tables=True, ignore_missing_glyphs=True,
                             hinting=hinting, desubroutinize=True, notdef_outline=bool(self.missing))
    options.drop_tables += ["GSUB", "GPOS", "SVG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=to_unicode)
    try:
        font = TTFont(io.BytesIO(self.file_content), fontNumber=self.index, recalcBBoxes=False)
        subsetter.subset(font)
    except TTLibError:  # as WeasyPrint does: the font is embedded whole
        return
    out = io.BytesIO()
    font.save(out)
    self.file_content = out.getvalue()


_weasyprint_fonts.Font._fonttools_subset = _subset_font


FIGURE_SCHEME = "dossier-figure:"  # the figures of the document being rendered, served from memory


class AssetsOnlyFetcher(URLFetcher):
    """Serve ``data:`` URIs, files under the project's assets folder and the document's own figures
    (``dossier-figure:N``); refuse everything else."""

    refused: list[str]

    def __init__(self, figures: dict[str, bytes] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.refused = []
        self.figures = figures or {}

    def fetch(self, url, headers=None):
        if url.startswith(FIGURE_SCHEME) and url[len(FIGURE_SCHEME):] in self.figures:
            return URLFetcherResponse(url, body=self.figures[url[len(FIGURE_SCHEME):]],
                                      headers={"Content-Type": "image/svg+xml"})
        if url.startswith("data:") or self.allowed(url):
            return super().fetch(url, headers)
        self.refused.append(url)
        raise URLFetchingError(f"dossier's PDF renderer does not fetch {url!r}: only the project's assets")

    @staticmethod
    def allowed(url: str) -> bool:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            return False
        path = Path(unquote(parsed.path)).resolve()
        assets = ASSETS_DIR.resolve()
        return assets in path.parents


def _open_with_outlines(document, pdf) -> None:  # WeasyPrint finisher: (Document, pydyf.PDF)
    pdf.catalog["PageMode"] = "/UseOutlines"


@contextmanager
def _source_date_epoch(date: str):
    """fontTools stamps the subset fonts it writes with the current time unless SOURCE_DATE_EPOCH is set
    (reproducible-builds.org); pin it to the document date while rendering."""
    epoch = int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


_SVG = re.compile(r"(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE svg[^>]*>\s*)?(<svg\b.*?</svg>)", re.S)


#: SVG properties that may be given as presentation attributes (SVG 1.1, section 6.4)
_PRESENTATION = frozenset({
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linejoin",
    "stroke-linecap", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "opacity", "clip-rule",
    "font-size", "font-family", "font-weight", "font-style", "text-anchor"})
#: the one style sheet matplotlib writes into every SVG
_MPL_RULE = '<style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'
_STYLE_ATTR = re.compile(r'(<[a-zA-Z][^<>]*?\s)style="([^"]*)"')  # in a tag, not in text
_GROUP = re.compile(r'<g\b([^>]*?)(/?)>|</g>')
_BARE = re.compile(r'\s*(?:id="([^"]*)")?\s*')


def lighter_svg(svg: str) -> str:
    """A matplotlib SVG with fewer nodes and no CSS to parse, drawn the same (WeasyPrint's SVG drawing is
    Python per node: this takes ~18 % off the figures' share of a PDF):

    - the ``<metadata>`` block (never drawn) is dropped;
    - groups without attributes other than an id that nothing references are unwrapped (their children
      take their place; an empty one is dropped): such a group changes no property of what it holds;
    - a ``style`` attribute made only of presentation properties becomes those attributes (WeasyPrint then
      does not parse it as CSS), and matplotlib's ``*{stroke-linejoin: round; stroke-linecap: butt}`` rule
      becomes attributes of the root ``<svg>``, inherited by every element that does not set its own (which,
      the style attributes now being attributes, is what the rule's precedence gave).

    Only the PDF's copy of a figure is changed (the HTML keeps matplotlib's SVG)."""
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    out: list[str] = []
    unwrapped: list[bool] = []  # per open group: dropped (True) or kept
    pos = 0
    for m in _GROUP.finditer(svg):
        out.append(svg[pos:m.start()])
        pos = m.end()
        if m.group(0) == "</g>":
            if not unwrapped.pop():
                out.append("</g>")
            continue
        bare = _BARE.fullmatch(m.group(1))
        drop = bare is not None and bare.group(1) not in referenced
        if m.group(2):  # an empty group <g .../>
            if not drop:
                out.append(m.group(0))
            continue
        unwrapped.append(drop)
        if not drop:
            out.append(m.group(0))
    out.append(svg[pos:])
    svg = "".join(out)
    rest = svg.replace(_MPL_RULE, "")
    if "<style" in rest:  # another style sheet: its precedence over attributes would change; leave the styles
        return svg

    def as_attributes(m: re.Match) -> str:
        pairs = [d.split(":", 1) for d in m.group(2).split(";") if d.strip()]
        if any(len(p) != 2 or p[0].strip() not in _PRESENTATION or '"' in p[1] for p in pairs):
            return m.group(0)
        return m.group(1) + " ".join(f'{k.strip()}="{v.strip()}"' for k, v in pairs)

    svg = _STYLE_ATTR.sub(as_attributes, rest)
    if rest != "".join(out):
        svg = svg.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)
    return svg


_MARKER_DEF = re.compile(r'<path id="([^"]+)" d="([^"]*)"((?:\s+[a-z-]+="[^"]*")*)\s*/>')
_USE = re.compile(r'<use xlink:href="#([^"]+)"((?:\s+[a-z:-]+="[^"]*")*)\s*/>')
_USES = re.compile(r'<use xlink:href="#[^"]+"(?:\s+[a-z:-]+="[^"]*")*\s*/>(?:\s*<use xlink:href="#[^"]+"'
                   r'(?:\s+[a-z:-]+="[^"]*")*\s*/>)+')
_ATTR = re.compile(r'([a-z:-]+)="([^"]*)"')
_PATH_TOKEN = re.compile(r"[MLQCZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_OPACITY = ("opacity", "fill-opacity", "stroke-opacity")


def _number(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _path_points(d: str) -> list[str | list[float]] | None:
    """Path data as commands and coordinate pairs, or None unless only absolute M, L, Q, C and z (what
    matplotlib writes) with whole pairs."""
    if _PATH_TOKEN.sub("", d).strip(" \n\t,") or not d.lstrip().startswith("M"):
        return None  # a command or character other than those
    tokens = _PATH_TOKEN.findall(d)
    out: list[str | list[float]] = []
    numbers: list[float] = []
    for token in tokens:
        if token[0].isalpha():
            if len(numbers) % 2:
                return None
            out.extend([numbers[i:i + 2] for i in range(0, len(numbers), 2)])
            out.append(token)
            numbers = []
        else:
            numbers.append(float(token))
    if len(numbers) % 2:
        return None
    out.extend([numbers[i:i + 2] for i in range(0, len(numbers), 2)])
    return out if len(out) > 1 else None


def merged_markers(svg: str) -> str:
    """A matplotlib SVG whose runs of markers become single paths, drawn the same.  matplotlib draws each
    marker (a data point, a tick, an error bar cap) as a ``<use>`` of a path defined once; WeasyPrint draws a
    ``<use>`` as a copy of the path it references (two nodes, the copy cascaded anew), ~60 % of a figure's
    nodes.  A run of consecutive ``<use>`` of the same path with the same attributes (no transform, no
    opacity) becomes one ``<path>`` whose data are the marker's, translated to each position, with the
    marker's own attributes over the ``<use>``'s (which it inherits).  Drawing one path of several subpaths
    paints what drawing them one after the other paints when no two markers overlap; when some do, the run
    is merged only if each marker is one subpath painted in one opaque colour (fill and stroke set, equal or
    ``none``; fill rule nonzero): the union of same-coloured shapes does not depend on their order."""
    defs = {m.group(1): (m.group(2), dict(_ATTR.findall(m.group(3)))) for m in _MARKER_DEF.finditer(svg)}

    def run(m: re.Match) -> str:
        uses = [(u.group(1), dict(_ATTR.findall(u.group(2)))) for u in _USE.finditer(m.group(0))]
        href, first = uses[0]
        rest = {k: v for k, v in first.items() if k not in ("x", "y")}
        if href not in defs or any(h != href or {k: v for k, v in a.items() if k not in ("x", "y")} != rest
                                   for h, a in uses):
            return m.group(0)
        d, own = defs[href]
        points = _path_points(d)
        attrs = {**rest, **own}
        if points is None or "transform" in attrs or any(k in attrs for k in _OPACITY):
            return m.group(0)
        offsets = [(float(a.get("x", "0")), float(a.get("y", "0"))) for _, a in uses]
        if _overlap(points, offsets, attrs):
            fill, stroke = attrs.get("fill"), attrs.get("stroke")
            one_colour = fill is not None and stroke is not None and (fill == stroke or "none" in (fill, stroke))
            if not one_colour or attrs.get("fill-rule") == "evenodd" or sum(p == "M" for p in points) != 1:
                return m.group(0)
        data = " ".join(p if isinstance(p, str) else f"{_number(p[0] + x)} {_number(p[1] + y)}"
                        for x, y in offsets for p in points)
        return f'<path d="{data}" ' + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "/>"

    return _USES.sub(run, svg)


def _overlap(points: list, offsets: list[tuple[float, float]], attrs: dict[str, str]) -> bool:
    """Whether any two markers may touch: their bounding boxes (control points included), widened by the
    stroke width (several times, for miter joins; matplotlib sets ``stroke-width`` on every marker whose width
    is not the initial 1) and a point of margin, intersect."""
    xy = [p for p in points if not isinstance(p, str)]
    try:
        pad = 4 * float(attrs.get("stroke-width", "1")) + 1
    except ValueError:
        return True
    x0, x1 = min(p[0] for p in xy) - pad, max(p[0] for p in xy) + pad
    y0, y1 = min(p[1] for p in xy) - pad, max(p[1] for p in xy) + pad
    boxes = sorted((x + x0, x + x1, y + y0, y + y1) for x, y in offsets)
    for i, (_, a1, b0, b1) in enumerate(boxes):
        for c0, _, e0, e1 in boxes[i + 1:]:
            if c0 > a1:
                break
            if e0 <= b1 and b0 <= e1:
                return True
    return False


def svgs_as_images(html: str) -> tuple[str, dict[str, bytes]]:
    """Inline SVG figures as ``<img>`` elements: WeasyPrint still draws them as vectors, but their
    thousands of nodes stay out of the HTML's CSS cascade, which halves the rendering time.  The images
    are served from memory (``dossier-figure:N``, returned in the dict) rather than as base64 data URIs,
    which the HTML parser would scan character by character (~1 s per document); the PDF is the same."""
    figures: dict[str, bytes] = {}

    def repl(match: re.Match) -> str:
        name = str(len(figures))
        figures[name] = merged_markers(lighter_svg(match.group(1))).encode("utf-8")
        return f'<img class="figure" alt="" src="{FIGURE_SCHEME}{name}">'

    return _SVG.sub(repl, html), figures


_CELL = re.compile(r"<(td|th)\b([^>]*)>(.*?)</\1>", re.S)
_NUM_LINK = re.compile(r'<a class="num"[^>]*?\shref="([^"]*)"[^>]*>([^<]*)</a>')
_EVIDENCE_ID = re.compile(r'(<a class="num"[^>]*?)\sdata-eid="[^"]*"')


def cell_links(html: str) -> str:
    """The PDF's copy of the document, with the links of the tables' numbers on their cells: a cell whose
    only links are evidence-linked numbers (``<a class="num" href=...>``) that all go to the same place (the
    evidence group of its table) becomes that link itself (``<td href=...>``, made a link by
    :func:`_cell_link`) and its numbers plain text.  Each inline ``<a>`` is an inline box that WeasyPrint
    splits, measures (twice, for the table's column widths) and draws on its own: the ~3,100 numbers of a
    variant's tables cost ~20 % of its PDF's CPU.  The page looks the same (``a.num`` inherits colour and has
    no underline); a click on the cell, rather than on the number, opens the evidence.  The evidence ids
    (``data-eid``), which the PDF does not use, are dropped from the remaining links (less to parse).  The
    HTML variant keeps its per-number links and ids."""

    def cell(m: re.Match) -> str:
        tag, attrs, body = m.groups()
        targets = {href for href, _ in _NUM_LINK.findall(body)}
        if len(targets) != 1 or "href=" in attrs:
            return m.group(0)
        text = _NUM_LINK.sub(r"\2", body)
        if re.search(r"<(?:a|td|th|table)\b", text):  # another link, a link with markup, or a nested table
            return m.group(0)
        return f'<{tag}{attrs} href="{targets.pop()}">{text}</{tag}>'

    return _EVIDENCE_ID.sub(r"\1", _CELL.sub(cell, html))


def _cell_link(element, box, get_image_from_uri, base_url):
    """WeasyPrint handler of ``td`` / ``th``: an ``href`` (put there by :func:`cell_links`) makes the cell a
    link, as WeasyPrint's own handler does for ``<a>``."""
    return _weasyprint_html.handle_a(element, box, get_image_from_uri, base_url)


for _tag in ("td", "th"):  # WeasyPrint 70 has no handler of its own for table cells (pinned in pyproject)
    if _tag in _weasyprint_html.HTML_HANDLERS:
        raise ImportError(f"this WeasyPrint handles <{_tag}> itself: review dossier.render.pdf._cell_link")
    _weasyprint_html.HTML_HANDLERS[_tag] = _cell_link


def render_pdf(html: str, *, key: str, date: str = "2026-01-01", pdfa: bool = False) -> bytes:
    """PDF bytes of a dossier's HTML. ``key`` (e.g. the evidence hash + agency) fixes the PDF identifier;
    ``date`` (ISO, the spec's document date) fixes the timestamps inside embedded fonts and the document's
    creation and modification dates.  ``pdfa``: PDF/A-2b (WeasyPrint's sRGB output intent and XMP metadata).
    The result is linearized for Fast Web View (:func:`dossier.render.pdf_finish.linearize`)."""
    from dossier.render.pdf_finish import linearize

    identifier = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32].encode("ascii")
    try:
        body, figures = svgs_as_images(html)
        body = cell_links(body)
        source = HTML(string=body, base_url=str(ASSETS_DIR) + "/", url_fetcher=AssetsOnlyFetcher(figures))
        variant = {"pdf_variant": "pdf/a-2b"} if pdfa else {}
        with _source_date_epoch(date):
            document = source.render(**variant)
            document.metadata.created = document.metadata.modified = f"{date}T00:00:00Z"
            data = document.write_pdf(pdf_identifier=identifier, pdf_version="1.7", finisher=_open_with_outlines,
                                      uncompressed_pdf=False, **variant)
        return linearize(data)
    except Exception as err:  # WeasyPrint raises many kinds; the user needs one message
        raise BuildError(f"PDF rendering failed: {err}", where="render/pdf",
                         hint="run with --debug for the traceback") from err


def render_checked_pdf(html: str, key: str, date: str, paper: str | None,
                       pdfa: bool = False, submission: bool = True) -> tuple[bytes, list[str]]:
    """A dossier's PDF and its preflight problems, checked from the bytes just made (not read back from disk):
    the unit of work of :func:`render_pdfs`' worker processes."""
    from dossier.render.preflight import preflight_bytes

    pdf = render_pdf(html, key=key, date=date, pdfa=pdfa)
    return pdf, preflight_bytes(pdf, expected_paper=paper, pdfa=pdfa, submission=submission)


_JOBS: list[tuple] = []  # (html, key, date, paper, pdfa, submission): inherited by forked workers


def _render_job(index: int) -> tuple[bytes, list[str]]:
    return render_checked_pdf(*_JOBS[index])


def render_pdfs(jobs: list[tuple], date: str, workers: int, pdfa: bool = False) -> list[tuple[bytes, list[str]]]:
    """PDF bytes and preflight problems of each job ``(html, key, paper)`` or ``(html, key, paper, submission)``
    (``submission`` False: a document not filed with an agency, see :func:`preflight_bytes`), in order.

    With ``workers`` > 1 the PDFs are rendered (and preflighted) in forked worker processes, the longest
    document first (when there are fewer workers than PDFs, the others follow on the worker that is free
    first); the jobs reach the workers by fork, not by pickling megabytes of HTML.  Each PDF is a pure
    function of its HTML, key and date, so the bytes do not depend on the workers or the order.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    full = [(html, key, date, paper, pdfa, *rest) for html, key, paper, *rest in jobs]
    if workers <= 1 or len(jobs) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [render_checked_pdf(*job) for job in full]
    _JOBS[:] = full
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {i: pool.submit(_render_job, i) for i in order}
            return [futures[i].result() for i in range(len(jobs))]
    finally:
        _JOBS.clear()
