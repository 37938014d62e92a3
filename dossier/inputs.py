"""The input files of a build (name, path as given in the spec, sha256): in a module of their own, so that
``dossier build --check`` and an up-to-date rebuild fingerprint the inputs without importing the analyses
(:mod:`dossier.evidence` re-exports :class:`InputFile` for the evidence's provenance)."""

from __future__ import annotations

from pydantic import BaseModel


class InputFile(BaseModel):
    name: str  # dataset name (adsl, adae, ...) or "spec"
    path: str  # as given in the spec (relative to the spec folder)
    sha256: str
