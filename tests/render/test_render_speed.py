"""The ways the build was made faster change no output (issue 16): figures and PDFs drawn in worker processes
equal those drawn in one process, figures served from memory give the PDF the data URIs gave, preflight of
the bytes equals preflight of the file, and only plots with thousands of marks are drawn as images."""

from __future__ import annotations

import base64
import hashlib
import re
from types import SimpleNamespace

import numpy as np
import pytest

from dossier.analyses.nca import ConcentrationPoint
from dossier.analyses.stats import kaplan_meier
from dossier.render import figures as F
from dossier.render import pdf as P
from dossier.render.preflight import preflight_bytes, preflight_pdf


def _km(seed: int, label: str):
    rng = np.random.default_rng(seed)
    return kaplan_meier(np.round(rng.exponential(100, 30)) + 1, rng.random(30) < 0.7, label=label)


def _doc(title: str, svg: str, paragraphs: int) -> str:
    body = "".join(f"<p>Paragraph {i} of {title}.</p>" for i in range(paragraphs))
    return (f"<html><head><style>body{{font-family:'Dossier Sans'}}</style></head><body><h1>{title}</h1>"
            f"{body}<figure>{svg}</figure></body></html>")


@pytest.fixture(scope="module")
def svgs() -> list[str]:
    return [F.km_plot([_km(1, "A"), _km(2, "B")], "Days"), F.km_plot([_km(3, "C")], "Days", "one arm")]


def test_figures_drawn_by_workers_equal_figures_drawn_in_one_process(svgs):
    plan = [("two", F.km_plot, ([_km(1, "A"), _km(2, "B")], "Days")), ("one", F.km_plot, ([_km(3, "C")], "Days", "one arm"))]
    ran = []
    parallel = F.draw_figures(plan, workers=2, meanwhile=lambda: ran.append(True))
    assert list(parallel) == ["two", "one"] and ran == [True]
    assert parallel == F.draw_figures(plan, workers=1) == {"two": svgs[0], "one": svgs[1]}


def test_pdfs_rendered_by_workers_equal_pdfs_rendered_in_one_process(svgs):
    # different lengths, so that the workers start with the last job (largest first) yet return in order
    jobs = [(_doc("short", svgs[0], 2), "k1", "letter"), (_doc("long", svgs[1], 60), "k2", "a4")]
    serial = P.render_pdfs(jobs, "2026-01-01", workers=1)
    assert P.render_pdfs(jobs, "2026-01-01", workers=2) == serial
    for (html, key, _), (pdf, _) in zip(jobs, serial, strict=True):
        assert pdf == P.render_pdf(html, key=key, date="2026-01-01")
    # WeasyPrint's default page is A4: the second job passes the paper check, the first is checked against
    # letter and fails it (these test documents lack a title and contents page, which preflight also reports)
    assert any("is not letter" in p for p in serial[0][1]) and not any("page size" in p for p in serial[1][1])


def test_figures_from_memory_give_the_pdf_that_data_uris_gave(svgs):
    """The renderer serves the figures as dossier-figure:N from memory; the PDF is the one WeasyPrint makes
    from base64 data URIs (what the renderer did before), byte for byte."""
    html = _doc("figures", svgs[0], 3)
    body, figures = P.svgs_as_images(html)
    assert list(figures) == ["0"] and 'src="dossier-figure:0"' in body and "<svg" not in body
    data_uri = re.sub(r'src="dossier-figure:0"',
                      'src="data:image/svg+xml;base64,' + base64.b64encode(figures["0"]).decode() + '"', body)
    identifier = hashlib.sha256(b"k").hexdigest()[:32].encode("ascii")
    from dossier.render.pdf_finish import linearize

    with P._source_date_epoch("2026-01-01"):
        doc = P.HTML(string=data_uri, base_url=str(P.ASSETS_DIR) + "/", url_fetcher=P.AssetsOnlyFetcher()).render()
        doc.metadata.created = doc.metadata.modified = "2026-01-01T00:00:00Z"
        before = linearize(doc.write_pdf(pdf_identifier=identifier, pdf_version="1.7", finisher=P._open_with_outlines,
                                         uncompressed_pdf=False))
    assert P.render_pdf(html, key="k", date="2026-01-01") == before


def test_preflight_of_bytes_equals_preflight_of_the_file(svgs, tmp_path):
    pdf = P.render_pdf(_doc("check", svgs[1], 1), key="p")
    path = tmp_path / "a.pdf"
    path.write_bytes(pdf)
    for paper in (None, "letter", "a4"):
        assert preflight_bytes(pdf, paper) == preflight_pdf(path, paper)
    # A4 is WeasyPrint's default page (the test document lacks a title and contents, also reported)
    assert not any("page size" in p for p in preflight_bytes(pdf, "a4"))
    assert any("page size" in p for p in preflight_bytes(pdf, "letter"))
    # the contents-page rule applies to documents filed with an agency only (not to the internal report)
    assert any("table of contents" in p for p in preflight_bytes(pdf, "a4"))
    assert not any("table of contents" in p for p in preflight_bytes(pdf, "a4", submission=False))
    assert preflight_bytes(b"not a pdf")[0].startswith("not a readable PDF")


def _pk(n_subjects: int, samples: int = 20):
    rng = np.random.default_rng(7)
    times = np.arange(1, samples + 1) * 1.5
    obs = [ConcentrationPoint(usubjid=f"S{s:04d}", profile="DAY 1", profile_type="single dose", dose=float(d),
                              time=float(t), conc=float(c) if c > 0.05 else None, blq=bool(c <= 0.05))
           for s, d in zip(range(n_subjects), rng.choice([100, 200, 400], n_subjects), strict=True)
           for t, c in zip(times, d / 50 * np.exp(-0.2 * times) * np.exp(rng.normal(0, 0.2, samples)), strict=True)]
    return SimpleNamespace(observations=obs, dose_unit="mg", time_unit="h", conc_unit="ug/mL", lloq=0.05)


def test_profile_lines_break_between_profiles_as_the_loop_did():
    rng = np.random.default_rng(3)
    codes = np.repeat(rng.permutation(12), rng.integers(1, 6, 12))
    x, y = rng.random(codes.size), rng.random(codes.size) - 0.2
    sel = np.flatnonzero(y > 0)
    xs, ys, key = [], [], None  # the former loop: NaN between consecutive kept points of different profiles
    for i in sel:
        if key is not None and key != codes[i]:
            xs.append(np.nan)
            ys.append(np.nan)
        key = codes[i]
        xs.append(x[i])
        ys.append(y[i])
    got = F._profile_lines(sel, codes, x, y)
    np.testing.assert_array_equal(got[0], xs)
    np.testing.assert_array_equal(got[1], ys)


def test_only_plots_with_thousands_of_marks_are_drawn_as_images():
    few, many = _pk(20), _pk(150)
    assert len([o for o in few.observations if o.conc is not None]) <= F.MANY_MARKS
    assert len([o for o in many.observations if o.conc is not None]) > F.MANY_MARKS
    small = F.concentration_time_plot(few)
    assert "<image" not in small and small.count("<use") > 100  # one vector marker per sample
    big = F.concentration_time_plot(many)
    assert big.count("<image") == 2 and big.count("<use") < 100  # one image per panel, axes still vector
    assert "Time after dose (h)" in big and F.concentration_time_plot(many) == big
