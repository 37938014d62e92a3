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

import base64
import hashlib
import os
import re
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import weasyprint.pdf.fonts as _weasyprint_fonts
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetchingError

from dossier.errors import BuildError
from dossier.render.html import ASSETS_DIR

# One canonical font subsetter on every machine: WeasyPrint subsets embedded fonts with HarfBuzz when the
# system has libharfbuzz-subset, and with fontTools otherwise, and the two write different bytes. The PDF
# must not depend on which system library happens to be installed, so fontTools (a Python dependency, the
# same everywhere) is always used. (WeasyPrint 70 decides on this module attribute; pinned in pyproject.)
_weasyprint_fonts.harfbuzz_subset = None


class AssetsOnlyFetcher(URLFetcher):
    """Serve ``data:`` URIs and files under the project's assets folder; refuse everything else."""

    refused: list[str]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refused = []

    def fetch(self, url, headers=None):
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


def svgs_as_images(html: str) -> str:
    """Inline SVG figures as ``<img>`` data URIs: WeasyPrint still draws them as vectors, but their
    thousands of nodes stay out of the HTML's CSS cascade, which halves the rendering time."""

    def repl(match: re.Match) -> str:
        data = base64.b64encode(match.group(1).encode("utf-8")).decode("ascii")
        return f'<img class="figure" alt="" src="data:image/svg+xml;base64,{data}">'

    return _SVG.sub(repl, html)


def render_pdf(html: str, *, key: str, date: str = "2026-01-01") -> bytes:
    """PDF bytes of a dossier's HTML. ``key`` (e.g. the evidence hash + agency) fixes the PDF identifier;
    ``date`` (ISO, the spec's document date) fixes the timestamps inside embedded fonts."""
    identifier = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32].encode("ascii")
    try:
        document = HTML(string=svgs_as_images(html), base_url=str(ASSETS_DIR) + "/", url_fetcher=AssetsOnlyFetcher())
        with _source_date_epoch(date):
            return document.write_pdf(pdf_identifier=identifier, pdf_version="1.7", finisher=_open_with_outlines,
                                      uncompressed_pdf=False)
    except Exception as err:  # WeasyPrint raises many kinds; the user needs one message
        raise BuildError(f"PDF rendering failed: {err}", where="render/pdf",
                         hint="run with --debug for the traceback") from err
