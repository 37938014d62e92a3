"""Agency profiles: data, not code; overrides replace local assumptions and are listed."""

from __future__ import annotations

import pytest

from dossier.errors import SpecError
from dossier.jurisdictions import load_profile
from dossier.render.html import TEMPLATES_DIR
from dossier.spec import AgencyOverrides


def test_profiles_differ_as_agencies_do():
    fda, ema, pmda = (load_profile(a) for a in ("fda", "ema", "pmda"))
    assert (fda.paper, ema.paper, pmda.paper) == ("letter", "a4", "a4")
    assert fda.terms["dosage"] == "dosage" and ema.terms["dosage"] == "posology"
    assert fda.assumptions["reference_body_weight_kg"] == 70 and pmda.assumptions["reference_body_weight_kg"] == 60
    assert [s.id for s in fda.sections][:6] == ["product", "attendees", "background", "purpose", "agenda", "questions"]
    assert "questions" in [s.id for s in ema.sections] and "mrct_consistency" in [s.id for s in pmda.sections]
    assert all(any("\u3040" <= ch <= "\u9fff" for ch in s.title) for s in pmda.sections), "Japanese headings"


def test_every_planned_section_has_a_template():
    for agency in ("fda", "ema", "pmda"):
        for s in load_profile(agency).sections:
            if s.id == "core":
                continue
            own = TEMPLATES_DIR / agency / "sections" / f"{s.id}.html.j2"
            base = TEMPLATES_DIR / "base" / "sections" / f"{s.id}.html.j2"
            assert own.is_file() or base.is_file(), f"{agency}: no template for section {s.id}"


def test_override_replaces_and_is_listed():
    p = load_profile("pmda", AgencyOverrides(reference_body_weight_kg=58.5))
    assert p.assumptions["reference_body_weight_kg"] == 58.5
    assert p.overridden == ["reference_body_weight_kg"]
    assert load_profile("pmda").assumptions["reference_body_weight_kg"] == 60  # cache not mutated


def test_unknown_agency():
    with pytest.raises(SpecError, match="unknown agency 'mhra'"):
        load_profile("mhra")
