"""The apparatus of a briefing document, generated from the rendered body (never typed in a template):

- numbered headings (1, 1.1, 1.1.1), tables ("Table 7.") and figures ("Figure 3."), in document order;
- cross-references: a template writes ``<a class="xref" href="#ID"></a>`` and gets "Section 5.2", "Table 7" or
  "Figure 3" for the section, table or figure with that id (an unknown id is a build error);
- the table of contents (entries equal the headings, numbers included), the lists of tables and figures;
- the abbreviations actually used (one glossary: ``dossier/jurisdictions/glossary.yaml``) and the references
  actually cited (``dossier/jurisdictions/references.yaml``).

Rendering is two-pass (dossier.render.html): ``analyse`` reads the first pass and gives the templates the
lists they print in the front matter; ``apply`` numbers the second pass. Both see the same body, so the
numbers in the lists and in the body agree. Only the part after ``<!--body-->`` is numbered; headings with
class ``unnumbered`` (front matter) are listed in the contents without a number.
"""

from __future__ import annotations

import html as H
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dossier.errors import BuildError

BODY_MARK = "<!--body-->"
_JURISDICTIONS = Path(__file__).resolve().parents[1] / "jurisdictions"

_HEADING = re.compile(r"<h([123])((?:\s[^>]*)?)>(.*?)</h\1>", re.S)
_CAPTION = re.compile(r"<caption>Table: ")
_FIGCAPTION = re.compile(r"<figcaption>Figure: ")
_CONTAINER_ID = re.compile(r'<(?:section|div)\b[^>]*\bid="([^"]+)"[^>]*>')
_XREF = re.compile(r'<a class="xref" href="#([^"]+)"></a>')
_ID = re.compile(r'\bid="([^"]+)"')


def plain(fragment: str) -> str:
    """Visible text of an HTML fragment (tags removed, entities decoded, whitespace collapsed)."""
    return re.sub(r"\s+", " ", H.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


@dataclass
class Item:
    id: str
    number: str  # "5.2", "7", or "" (unnumbered)
    text: str
    level: int = 1
    html: str = ""  # the heading's or caption's markup as the contents or a list repeats it (``entry_html``)


_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.S)
_EID_ATTR = re.compile(r'\bdata-eid="([^"]+)"')


def entry_html(fragment: str) -> str:
    """A heading or caption as an entry of the contents or the lists of tables and figures repeats it: the same
    text and marks (a heading's own section number, such as the SmPC's 4.2), each evidence-linked number keeping
    its evidence id (``<span class="num" data-eid=...>``: the entry itself is the link to the heading or the
    captioned table, and links do not nest), other links reduced to their text, ids dropped."""
    def anchor(m: re.Match) -> str:
        eid = _EID_ATTR.search(m.group(1))
        return f'<span class="num" data-eid="{eid.group(1)}">{m.group(2)}</span>' if eid else m.group(2)

    return _ID.sub("", _ANCHOR.sub(anchor, fragment)).replace(" >", ">").strip()


@dataclass
class Apparatus:
    headings: list[Item] = field(default_factory=list)
    tables: list[Item] = field(default_factory=list)
    figures: list[Item] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # id -> "Section 5.2" / "Table 7" / "Figure 3"
    abbreviations: list[dict[str, str]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)

    @property
    def toc(self) -> list[Item]:
        return [h for h in self.headings if h.level <= 2]

    def context(self) -> dict[str, Any]:
        return {"toc": self.toc, "tables": self.tables, "figures": self.figures,
                "abbreviations": self.abbreviations, "references": self.references}


def _split(doc: str) -> tuple[str, str]:
    i = doc.find(BODY_MARK)
    return (doc, "") if i < 0 else (doc[:i], doc[i:])


def _walk(body: str) -> tuple[list[tuple[int, int, str, str, int]], list[tuple[int, str]], list[tuple[int, str]]]:
    """Positions of numbered headings (start, end, number, id, level), tables (start, number), figures."""
    counters = [0, 0, 0]
    heads = []
    for m in _HEADING.finditer(body):
        level, attrs = int(m.group(1)), m.group(2) or ""
        hid = _ID.search(attrs)
        if "unnumbered" in attrs:
            heads.append((m.start(), m.end(), "", hid.group(1) if hid else "", level))
            continue
        counters[level - 1] += 1
        for k in range(level, 3):
            counters[k] = 0
        number = ".".join(str(c) for c in counters[:level])
        heads.append((m.start(), m.end(), number, hid.group(1) if hid else "h-" + number.replace(".", "-"), level))
    tables = [(m.start(), str(i)) for i, m in enumerate(_CAPTION.finditer(body), start=1)]
    figures = [(m.start(), str(i)) for i, m in enumerate(_FIGCAPTION.finditer(body), start=1)]
    return heads, tables, figures


def _owner_id(body: str, pos: int, tag: str) -> str | None:
    """The id of the ``tag`` element (table/figure) that encloses position ``pos``, if it has one."""
    start = body.rfind(f"<{tag}", 0, pos)
    if start < 0:
        return None
    m = _ID.search(body[start:body.find(">", start)])
    return m.group(1) if m else None


def analyse(doc: str, glossary: dict[str, str] | None = None,
            references: list[dict[str, Any]] | None = None) -> Apparatus:
    """Headings, tables, figures, cross-reference labels, abbreviations and references of a rendered document."""
    _, body = _split(doc)
    heads, tables, figures = _walk(body)
    ap = Apparatus()
    for start, _end, number, hid, level in heads:
        m = _HEADING.match(body, start)
        if hid:
            ap.headings.append(Item(id=hid, number=number, text=plain(m.group(3)), level=level,
                                    html=entry_html(m.group(3))))
        if number:
            ap.labels[hid] = f"Section {number}"
    # a container (section, core section) takes the number of its first heading
    for m in _CONTAINER_ID.finditer(body):
        if m.group(1) in ap.labels:
            continue
        nxt = [h for h in heads if h[0] >= m.end()]
        if nxt and nxt[0][2]:
            ap.labels[m.group(1)] = f"Section {nxt[0][2]}"
    for kind, found, items, tag in (("Table", tables, ap.tables, "table"), ("Figure", figures, ap.figures, "figure")):
        close = "</caption>" if kind == "Table" else "</figcaption>"
        for pos, number in found:
            tid = _owner_id(body, pos, tag) or f"{tag[:3]}-{number}"
            head = len("<caption>Table: ") if kind == "Table" else len("<figcaption>Figure: ")
            caption = body[pos + head:body.find(close, pos)]
            items.append(Item(id=tid, number=number, text=plain(caption), html=entry_html(caption)))
            ap.labels[tid] = f"{kind} {number}"
    # the words of the body (a tag separates words: "<td>ADAE</td><td>data" holds the term ADAE)
    # (the abbreviations and references lists themselves are left out, so that they cannot cite themselves)
    words = re.sub(r'<section class="(?:front|back)" id="(?:abbreviations|references)">.*?</section>', " ", body,
                   flags=re.S)
    words = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", words, flags=re.S)
    text = re.sub(r"\s+", " ", H.unescape(re.sub(r"<[^>]+>", " ", words)))
    for term, expansion in sorted((glossary if glossary is not None else load_glossary()).items(),
                                  key=lambda kv: kv[0].lower()):
        if re.search(r"(?<![\w-])" + re.escape(term) + r"s?(?![\w-])", text):
            ap.abbreviations.append({"term": term, "expansion": expansion})
    for ref in (references if references is not None else load_references()):
        if any(re.search(p, text) for p in ref["cited_as"]):
            ap.references.append(ref)
    return ap


def apply(doc: str, ap: Apparatus) -> str:
    """Number the headings, tables and figures of the rendered document and fill its cross-references."""
    front, body = _split(doc)
    heads, tables, figures = _walk(body)
    out: list[str] = []
    last = 0
    edits: list[tuple[int, int, str]] = []
    for start, end, number, hid, level in heads:
        if not number:
            continue
        m = _HEADING.match(body, start)
        attrs = m.group(2) or ""
        if not _ID.search(attrs):
            attrs = f' id="{hid}"' + attrs
        edits.append((start, end, f'<h{level}{attrs}><span class="secno">{number}</span> {m.group(3)}</h{level}>'))
    for (pos, number), tag, word, head in [(t, "table", "Table", "<caption>Table: ") for t in tables] + \
            [(f, "figure", "Figure", "<figcaption>Figure: ") for f in figures]:
        label = head.replace(f"{word}: ", f'<span class="label">{word} {number}.</span> ')
        edits.append((pos, pos + len(head), label))
        if _owner_id(body, pos, tag) is None:
            start = body.rfind(f"<{tag}", 0, pos)
            edits.append((start, start + len(tag) + 1, f'<{tag} id="{tag[:3]}-{number}"'))
    for start, end, text in sorted(edits):
        out.append(body[last:start])
        out.append(text)
        last = end
    out.append(body[last:])
    body = "".join(out)

    def xref(m: re.Match) -> str:
        target = m.group(1)
        if target not in ap.labels:
            raise BuildError(f"cross-reference to #{target}, which is not a numbered section, table or figure",
                             where="templates", hint="reference an id that the document contains")
        return f'<a class="xref" href="#{target}">{ap.labels[target]}</a>'

    return _XREF.sub(xref, front + body)


@cache
def load_glossary() -> dict[str, str]:
    """The one glossary of abbreviations (term -> expansion)."""
    data = yaml.safe_load((_JURISDICTIONS / "glossary.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data["abbreviations"].items()}


@cache
def load_references() -> list[dict[str, Any]]:
    """Every guidance, paper and method the documents may cite, with the patterns that detect a citation."""
    data = yaml.safe_load((_JURISDICTIONS / "references.yaml").read_text(encoding="utf-8"))
    return [dict(r) for r in data["references"]]
