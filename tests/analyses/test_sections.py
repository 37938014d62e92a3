"""The analysis sections (templates/base/sections/*.html.j2) render with StrictUndefined for full, partial
and empty bundles, every number carries a unique evidence id, and the numbers are the same whatever the
agency's terms."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pytest
from jinja2 import Environment
from markupsafe import Markup

from dossier.analyses import AnalysesBundle, run_analyses

from .conftest import REPO

SECTIONS = ["escalation", "tolerability", "patient_reported", "biomarker", "randomized", "dose_response", "exposure_response", "predictions",
            "benefit_risk", "model_credibility"]
NUM = re.compile(r'<a class="num" data-eid="([^"]+)"[^>]*>(.*?)</a>', re.S)


def _env() -> Environment:
    from dossier.render.html import make_environment

    return make_environment(REPO / "dossier" / "templates")


def render(section: str, bundle, spec, agency: str = "fda", figures: dict | None = None) -> str:
    env = _env()
    tpl = env.from_string('{% import "base/macros.html.j2" as m with context %}'
                          '{% include "base/sections/' + section + '.html.j2" %}')
    evidence = SimpleNamespace(analyses=bundle, study=spec.study, doses=spec.doses, proposed_dosage=spec.proposed_dosage,
                               randomized_dosages=spec.randomized_dosages)
    from dossier.jurisdictions import load_profile

    profile = load_profile(agency)
    framing = profile.framing_for(spec.study.therapeutic_area)
    return tpl.render(evidence=evidence, figures={k: Markup(v) for k, v in (figures or {}).items()},
                      terms=profile.terms, agency=agency, framing=framing,
                      severity_basis=(bundle.tolerability.severity_basis if bundle is not None and bundle.tolerability is not None
                                      else "grade"))


class _Balance(HTMLParser):
    VOID = {"br", "img", "meta", "link", "hr", "input", "col", "path", "use", "rect", "circle", "line", "polyline"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


@pytest.mark.parametrize("section", SECTIONS)
def test_sections_render_full_bundle_and_agree_across_agencies(section, example, example_bundle):
    spec, _ = example
    fda = render(section, example_bundle, spec, "fda")
    ema = render(section, example_bundle, spec, "ema")
    assert fda.lstrip().startswith("<section id=") and "<h2>" in fda
    nums_fda, nums_ema = NUM.findall(fda), NUM.findall(ema)
    assert nums_fda, "a section with results shows numbers"
    assert nums_fda == nums_ema
    eids = [e for e, _ in nums_fda]
    assert len(eids) == len(set(eids)), [e for e in eids if eids.count(e) > 1][:5]
    p = _Balance()
    p.feed(fda)
    assert not p.stack
    assert "NaN" not in fda and "None" not in fda


@pytest.mark.parametrize("section", SECTIONS)
def test_sections_render_empty_bundle_and_no_analyses(section, example):
    spec, _ = example
    assert "<section id=" in render(section, AnalysesBundle(), spec)
    assert "<section id=" in render(section, None, spec)


def test_sections_render_cdisc_bundle(cdisc):
    spec, data = cdisc
    b = run_analyses(data, spec, np.random.default_rng(1))
    html = "".join(render(s, b, spec) for s in SECTIONS)
    assert "outside the context of the EMA qualification opinion" in html
    assert "Severe TEAE (AESEV" in html
    assert "placebo" in html


def test_sections_embed_figures(example, example_bundle):
    spec, _ = example
    html = render("tolerability", example_bundle, spec, figures={"tolerability_rates": "<svg id='x'></svg>"})
    assert "<svg id='x'></svg>" in html
