"""Jurisdiction profiles: each agency's section plan, terminology, paper and local assumptions.

Agencies differ by data (``fda.yaml``, ``ema.yaml``, ``pmda.yaml``), not by code forks. A spec's
``overrides.<agency>`` replaces individual local assumptions; every dossier lists the assumptions used.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from dossier.errors import SpecError
from dossier.spec import AGENCIES, AgencyOverrides


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str


class JurisdictionProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency: Literal["fda", "ema", "pmda"]
    agency_name: str
    document_type: str
    language: str
    paper: Literal["letter", "a4"]
    terms: dict[str, str]
    assumptions: dict[str, Any]
    sections: list[Section]
    overridden: list[str] = []
    #: regulatory framing by therapeutic area ("oncology", "general", or any area of the spec): guidance,
    #: review division, AE grading, benchmarks; ``framing_for(area)`` picks one
    framing: dict[str, dict[str, Any]] = {}
    area: str = "general"  # the framing in use
    #: headings of the document apparatus (front and back matter) where the agency's differ from English
    headings: dict[str, str] = {}
    #: the question asked when the spec gives none: Jinja wording of ``text`` / ``position`` (and ``text_ja`` /
    #: ``position_ja``), the ``discipline``, and the names of the analyses it lists (dossier.pipeline.questions_for)
    default_question: dict[str, Any] = {}
    #: the countries of the agency's region (ISO 3166-1 alpha-3 code -> name), as ADSL COUNTRY codes them
    region_countries: dict[str, str] = {}
    #: the addressee of the document (title page), where it is not the agency as a whole
    addressee: str = ""
    #: words of another agency's procedure that must not appear in this agency's text, with what to write instead
    #: (regular expression -> hint); the findings name a spec question that uses one (dossier.findings)
    foreign_terms: dict[str, str] = {}

    def framing_for(self, area: str | None = None) -> dict[str, Any]:
        """The framing of a therapeutic area: its own entry, else the general one."""
        key = area or self.area
        return dict(self.framing.get(key) or self.framing.get("general") or {})

    @property
    def page_size(self) -> str:
        return "letter" if self.paper == "letter" else "A4"


@cache
def _raw_profile(agency: str) -> dict[str, Any]:
    text = resources.files("dossier.jurisdictions").joinpath(f"{agency}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_profile(agency: str, overrides: AgencyOverrides | None = None, area: str | None = None
                 ) -> JurisdictionProfile:
    """The profile of one agency with the spec's overrides of local assumptions applied.  ``area``
    (the spec's therapeutic area) selects the framing, whose assumptions (e.g. AE grading) come before
    the spec's overrides."""
    if agency not in AGENCIES:
        raise SpecError(f"unknown agency '{agency}'", where="--agency / agencies",
                        hint=f"choose from {', '.join(AGENCIES)}")
    raw = dict(_raw_profile(agency))
    assumptions = dict(raw["assumptions"])
    framing = raw.get("framing") or {}
    if area is not None:
        raw["area"] = area if area in framing else "general"
        assumptions.update((framing.get(raw["area"]) or {}).get("assumptions") or {})
    overridden = []
    if overrides is not None:
        for key, value in overrides.model_dump(exclude_none=True).items():
            assumptions[key] = value
            overridden.append(key)
    raw["assumptions"] = assumptions
    raw["overridden"] = sorted(overridden)
    return JurisdictionProfile.model_validate(raw)
