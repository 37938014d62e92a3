"""Finishing a rendered PDF: linearization ("Fast Web View", ISO 32000-1 Annex F), which the FDA PDF
specifications ask for, done with pikepdf (QPDF), byte-deterministically: the same input gives the same output
(QPDF writes objects in a fixed order; the file identifier is derived from the content).
"""

from __future__ import annotations

import io

import pikepdf


def linearize(data: bytes) -> bytes:
    """The PDF ``data`` linearized (Fast Web View); streams stay compressed, the identifier is content-derived."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        out = io.BytesIO()
        pdf.save(out, linearize=True, deterministic_id=True,
                 compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()
