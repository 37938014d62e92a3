"""The wording table (dossier/templates/data/wording.yaml, dossier.wording): every code the code base uses has
wording, every wording is used, every template compiles, and sentences read as the documents and the CLI
print them (the sentences below are the ones these results printed when the wording was written in Python)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment

from dossier.analyses.justification import LINES, PRO_KEYS, Cell, _fact
from dossier.designs import REGISTRY
from dossier.designs.boin12 import Boin12
from dossier.designs.crm import Crm
from dossier.designs.obd import isotonic_mtd
from dossier.designs.three_plus_three import ThreePlusThree
from dossier.render.html import evidence_groups
from dossier.wording import Phrase, say, wording

ROOT = Path(__file__).resolve().parents[1] / "dossier"
SOURCES = {p: p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py")}

#: codes named literally in the source: note codes, say("..."), the justification's _fact("...") (prefix just.)
_LITERAL = re.compile(r'''(?:code=|say\(|\(|: )\s*["']((?:design|just|analysis)\.[a-z0-9_.]+)["']''')
#: helpers that prefix their code: the justification's facts and the endpoints' reasons a measure is not known
_PREFIXED = {"just.": re.compile(r'''_fact\(\s*["']([a-z0-9_.]+)["']'''),
             "analysis.measure.": re.compile(r'''_why\(\s*["']([a-z0-9_.]+)["']''')}
#: codes named inside wording templates ({{ say('just.diff_ci', ...) }}); a trailing dot is a prefix
_NESTED = re.compile(r"""say\(\s*'([a-z0-9_.]+)'""")


def used_codes() -> set[str]:
    codes = set()
    for text in SOURCES.values():
        codes |= set(_LITERAL.findall(text))
        for prefix, pattern in _PREFIXED.items():
            codes |= {prefix + c for c in pattern.findall(text)}
    for text in wording().values():
        codes |= set(_NESTED.findall(text))
    # codes made from keys (f-strings): the lines of evidence and the patient-reported measures
    codes |= {f"just.line.{k}.{part}" for k in LINES for part in ("title", "phrase")}
    codes |= {"just.line.biomarker.title_exploratory"}
    codes |= {f"just.patient_reported.measure.{k}" for k in PRO_KEYS}
    populations = SOURCES[ROOT / "analyses" / "dose_summary.py"]
    codes |= {f"analysis.population.{k}" for k in re.findall(r'\("[^"]+", "([a-z_]+)", [^"]', populations)}
    return codes


def test_every_code_used_has_wording():
    used = {c for c in used_codes() if not c.endswith(".")}
    assert len(used) > 60  # the scan finds the codes (a broken pattern would find none and pass vacuously)
    assert sorted(used - set(wording())) == []


def test_every_wording_is_used():
    used = used_codes()
    prefixes = tuple(c for c in used if c.endswith("."))
    assert sorted(c for c in wording() if c not in used and not c.startswith(prefixes)) == []


@pytest.mark.parametrize("code", sorted(wording()))
def test_every_wording_compiles_and_is_one_line(code):
    text = wording()[code]
    Environment().parse(text)  # raises on a template syntax error
    assert "\n" not in text and text == text.strip()


def test_design_notes_read_as_before():
    """The notes the CLI (dossier boundaries / decide) and the design section print."""
    assert ThreePlusThree(target=0.3, n_doses=4).decision_table().note == (
        "with 1 DLT of 3, treat 3 more at the same dose; a de-escalation expands the dose below to 6 patients "
        "if it has 3")
    tpt = ThreePlusThree(target=0.3, n_doses=4)
    assert tpt.select_mtd([3, 6, 6, 3], [0, 1, 1, 2]).note == \
        "dose 3 is the highest dose with <= 1 DLT in 6 patients below the doses exceeded"
    assert tpt.select_mtd([3, 0, 0, 0], [3, 0, 0, 0]).note == "no MTD: >= 2 DLTs at the lowest dose"
    sel = Crm(target=0.3, n_doses=4, skeleton=[0.05, 0.1, 0.2, 0.3]).select_mtd([3, 6, 6, 3], [0, 1, 1, 2])
    assert sel.note_code == "design.select.crm" and sel.note_values["model"] == "empiric"
    assert sel.note == (f"CRM (empiric): posterior mean of beta {sel.note_values['beta']:.4f}; estimates are the "
                        "model at the posterior mean (dfcrm ptox)")
    # a note that nests another: the OBD designs' MTD by BOIN's rule
    assert isotonic_mtd(Boin12(target=0.3, n_doses=4), [3, 6, 6, 3], [0, 1, 1, 2]).note == \
        "MTD by BOIN's isotonic rule at the boin12 target: dose 3 selected: isotonic estimate closest to the target 0.3"


def test_every_registered_design_has_a_worded_decision_table():
    for name, cls in REGISTRY.items():
        table = cls(target=0.3, n_doses=3, **({"skeleton": [0.1, 0.2, 0.3]} if name == "crm" else {})).decision_table()
        assert table.note == (say(table.note_code, **table.note_values) if table.note_code else ""), name


def test_justification_reasons_are_worded_from_their_facts():
    cell = Cell(line="dose_response", verdict="against", facts=[_fact("dose_response.below_top", fitted=0.3, top=0.45)])
    assert cell.reason == "fitted response 30.0% is 15.0 points below the highest fitted (45.0%)"
    two = Cell(line="er_efficacy", verdict="neutral", facts=[
        _fact("er.diff", endpoint="response", e=0.125, lo=0.02, hi=0.231, ref=200.0), _fact("er.no_rise", ref=200.0)])
    assert two.reason == ("response +12.5 points vs 200 (95% CI 2.0 to 23.1); no rise of response above the "
                          "exposures of 200 (slope CI includes 0)")
    pro = _fact("patient_reported.toxicity_at", direction="less", high=3,
                doses=[{"dose": 100.0, "measures": ["high_symptom", "qol_deterioration"]}, {"dose": 200.0,
                                                                                           "measures": ["high_symptom"]}])
    assert say(pro) == ("significantly less patient-reported toxicity at 100 (PRO-CTCAE score ≥3 above baseline, "
                        "global health status deterioration); 200 (PRO-CTCAE score ≥3 above baseline)")
    # the facts are data: they survive the evidence bundle's JSON round trip and word the same
    again = Cell.model_validate_json(two.model_dump_json())
    assert again.facts == two.facts and again.reason == two.reason


def test_phrase_and_missing_code():
    assert str(Phrase(code="just.pk.exposure", values={"basis": "observed"})) == "exposure observed"
    with pytest.raises(KeyError, match="no wording for the code"):
        say("just.no_such_code")


def test_evidence_groups_have_title_and_method():
    groups = evidence_groups()
    assert groups["pk"]["title"] == "Pharmacokinetics"
    assert all(set(v) == {"title", "method"} and v["title"] and v["method"] for v in groups.values())


def test_measure_reasons_nest_and_survive_json():
    """Why a safety measure is not known (dossier.analyses.endpoints): a partial measure names the reason of its
    source inside its own, before and after the evidence's JSON round trip."""
    why = Phrase(code="analysis.measure.blank", values={"var": "AEACN"})
    partial = Phrase(code="analysis.measure.partial", values={"unknown": 2, "n": 10, "why": why})
    assert str(partial) == "unknown for 2 of 10 subjects (AEACN blank)"
    assert str(Phrase.model_validate_json(partial.model_dump_json())) == str(partial)
    assert say("analysis.measure.partial", unknown=1, n=5, why=None) == "unknown for 1 of 5 subjects (source value blank)"
    assert say("analysis.measure.no_grade_nor_severity") == "neither a CTCAE grade nor a severity was recorded"
    assert say("analysis.measure.no_grade_nor_severity", grade_var="AETOXGR", sev_var="AESEV") == \
        "neither a CTCAE grade (AETOXGR) nor a severity (AESEV) was recorded"


def test_plain_placeholders_word_as_jinja_does():
    """The direct filling of plain placeholders (the quick CLI commands load no Jinja) gives Jinja's text."""
    from dossier.wording import _PLACEHOLDER, _environment, _template

    simple = {c: t for c, t in wording().items() if "{%" not in t and "{{" not in _PLACEHOLDER.sub("", t)}
    assert len(simple) > 40 and "design.select.crm" in simple
    for code, text in simple.items():
        values = {m.group(1): (0.1234567 if m.group(2) else "x") for m in _PLACEHOLDER.finditer(text)}
        assert _template(code)(**values) == _environment().from_string(text).render(**values), code
    with pytest.raises(KeyError, match="needs the value"):
        say("design.select.interval_selected", dose=2)
