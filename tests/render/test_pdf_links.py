"""The PDF's table cells carry the links of their numbers (dossier.render.pdf.cell_links): a cell whose numbers
all link to the same evidence becomes that one link, and the PDF still has, for every number link of the
document, a link to the same place over the number, with the same text on the pages."""

from __future__ import annotations

import hashlib
import io

import pikepdf
from pypdf import PdfReader

from dossier.render import pdf as P


def num(value: str, target: str) -> str:
    return f'<a class="num" data-eid="x.{value}" href="#{target}">{value}</a>'


HTML = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>links</title>"
        "<style>body{font-family:'Dossier Sans'} a.num{color:inherit;text-decoration:none}</style></head><body>"
        f"<p>In the text, {num('12', 'ev-a')} patients stay linked.</p>"
        "<table><thead><tr><th>Endpoint</th>"
        f"<th>{num('60', 'ev-a')} mg (N={num('3', 'ev-a')})</th><th>mixed</th><th>xref</th></tr></thead><tbody>"
        f"<tr><td>Response</td><td class='n'>{num('30.0', 'ev-a')} / {num('10.0', 'ev-a')}</td>"
        f"<td>{num('1', 'ev-a')} and {num('2', 'ev-b')}</td>"
        f"<td>{num('5', 'ev-b')}, see <a class='xref' href='#ev-b'>Table 1</a></td></tr></tbody></table>"
        "<h2 id='ev-a' style='break-before: page'>Evidence A</h2><h2 id='ev-b'>Evidence B</h2></body></html>")


def _links(pdf: bytes) -> list[tuple[int, str, tuple[float, ...]]]:
    """(page, destination, normalized rectangle x0, y0, x1, y1) of every link annotation."""
    out = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for i, page in enumerate(doc.pages):
            for annot in page.obj.get("/Annots", []):
                x0, y0, x1, y1 = (float(v) for v in annot.Rect)
                out.append((i, str(annot.Dest), (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))))
    return out


def test_cells_whose_numbers_share_a_target_become_the_link():
    body = P.cell_links(HTML)
    assert "<td class='n' href=\"#ev-a\">30.0 / 10.0</td>" in body
    assert '<th href="#ev-a">60 mg (N=3)</th>' in body
    # different targets, or another kind of link in the cell: left as they are (ids dropped)
    assert '<td><a class="num" href="#ev-a">1</a> and <a class="num" href="#ev-b">2</a></td>' in body
    assert "<a class='xref' href='#ev-b'>Table 1</a>" in body and '<a class="num" href="#ev-b">5</a>' in body
    assert '<p>In the text, <a class="num" href="#ev-a">12</a> patients' in body  # running text keeps its link
    assert "data-eid" not in body and "data-eid" in HTML


def _per_number_pdf() -> bytes:
    """The PDF as rendered before (a link per number): WeasyPrint on the HTML as it is."""
    from dossier.render.pdf_finish import linearize

    identifier = hashlib.sha256(b"k").hexdigest()[:32].encode("ascii")
    with P._source_date_epoch("2026-01-01"):
        doc = P.HTML(string=HTML, base_url=str(P.ASSETS_DIR) + "/", url_fetcher=P.AssetsOnlyFetcher()).render()
        return linearize(doc.write_pdf(pdf_identifier=identifier, pdf_version="1.7", uncompressed_pdf=False))


def test_every_number_link_is_still_a_link_to_the_same_place_over_the_number():
    before, after = _per_number_pdf(), P.render_pdf(HTML, key="k", date="2026-01-01")
    old, new = _links(before), _links(after)
    assert len(old) == 9 and len(new) == 7  # the 4 number links of two cells became 2 cell links
    for page, dest, (x0, y0, x1, y1) in old:
        assert any(p == page and d == dest and a0 <= x0 + 0.01 and b0 <= y0 + 0.01 and x1 <= a1 + 0.01
                   and y1 <= b1 + 0.01 for p, d, (a0, b0, a1, b1) in new), (page, dest)
    text = [page.extract_text() for page in PdfReader(io.BytesIO(before)).pages]
    assert [page.extract_text() for page in PdfReader(io.BytesIO(after)).pages] == text
    assert "30.0 / 10.0" in text[0]
