"""Findings (dossier/findings.py): references, number / direction / fact checks, the justification matrix,
`dossier check` and `build --strict`.

Closed-form checks of the rules (rounding windows, ratio bands, Newcombe-based "similar"), and the example
study: its spec has zero findings, one deliberately wrong number gives exactly one finding, a contradicted
direction gives one, and `--strict` fails without touching the previous outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dossier.errors import BuildError, SpecError
from dossier.findings import (
    Value,
    _contradicts,
    check_numbers,
    check_spec_references,
    collect_findings,
    render_text,
    tablet_strengths,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "examplinib"


# -- rules in closed form ---------------------------------------------------------------------------

def test_tablet_strengths():
    assert tablet_strengths("film-coated tablet, 120 mg") == [120.0]
    assert tablet_strengths("film-coated tablets, 60 mg and 120 mg") == [60.0, 120.0]
    assert tablet_strengths("tablets 40, 80 and 120 mg") == [40.0, 80.0, 120.0]
    assert tablet_strengths("tablet") == []


def test_direction_rules():
    # the example: 72.5% vs 65.0% is not "roughly doubled" (ratio 1.12), 42.5% vs 15.0% is not 2x (2.83)
    assert "1.12" in _contradicts("~2", 0.725, 0.65, None, None)
    assert "2.83" in _contradicts("~2", 0.425, 0.15, None, None)
    assert _contradicts("~2", 16 / 40, 9 / 40, None, None) is None  # 1.78 within 2 +/- 25%
    assert _contradicts("2", 0.36, 0.20, None, None) is not None  # 1.8: outside 2 +/- 10%
    assert _contradicts("2", 0.38, 0.20, None, None) is None  # 1.9
    assert _contradicts(">2", 0.30, 0.10, None, None) is None and _contradicts(">2", 0.19, 0.10, None, None)
    assert _contradicts("up", 0.20, 0.30, None, None) == "not higher"
    assert _contradicts("down", 0.30, 0.30, None, None) == "not lower"
    assert _contradicts("same", 0.5, 0.45, -0.1, 0.2) is None
    assert "excludes no difference" in _contradicts("same", 0.5, 0.2, 0.1, 0.5)


def test_number_rounding_windows():
    values = {"a": Value("a", 0.725, "rate"), "b": Value("b", 2.834, "ratio"), "n": Value("n", 43, "count")}
    check = lambda t: check_numbers(t, "x", values, "mg", [60.0, 120.0, 240.0], [60.0, 120.0])  # noqa: E731
    assert check("72.5% of patients") == []
    assert len(check("72.4% of patients")) == 1  # outside [72.45, 72.55]
    assert check("a ratio of 2.83") == [] and check("a ratio of 2.8") == []
    assert len(check("a ratio of 2.9")) == 1
    assert check("about 40 patients") == []  # hedged: within 10%
    assert len(check("40 patients")) == 1
    assert check("Q3 in 2024 for grade 3 events, ICH E4, Phase 1/2") == []  # labels, years, glued numbers
    assert check("at 240 mg") == [] and len(check("at 300 mg")) == 1  # doses: studied levels or tablets
    assert check("{ev:a} is cited") == []


def test_reference_rendering_and_unknown_keys(example_spec):
    values = {"randomized.240.severe.rate": Value("randomized.240.severe.rate", 0.125, "rate")}
    html = render_text("rate <x> {ev:randomized.240.grade3.rate}", values, "q")
    assert 'data-eid="ref.randomized.240.severe.rate"' in html and ">12.5%</a>" in html and "&lt;x&gt;" in html
    with pytest.raises(BuildError, match="randomized.240.sever"):
        render_text("{ev:randomized.240.sever.rate}", values, "q")
    spec = example_spec.model_copy(deep=True)
    spec.questions[0].position = "See {ev:randomized.240.sever.rate}."
    with pytest.raises(SpecError) as err:
        check_spec_references(spec)
    assert err.value.where == "questions[0].position" and "randomized.240.severe.rate" in err.value.hint


# -- the example -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example_spec():
    from dossier.spec import load_spec

    return load_spec(EXAMPLE / "study.yaml")


def _fast_spec(tmp: Path, **changes) -> Path:
    """The example spec without the simulation study and design scenarios (fast), absolute data paths."""
    raw = yaml.safe_load((EXAMPLE / "study.yaml").read_text(encoding="utf-8"))
    raw.pop("simulation_study", None)
    raw["design"]["scenarios"] = []
    for ds in raw["datasets"].values():
        ds["path"] = str(EXAMPLE / ds["path"])
    for k, v in changes.items():
        v(raw) if callable(v) else raw.__setitem__(k, v)
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def example_evidence(tmp_path_factory):
    from dossier.pipeline import compute_evidence, plan_build

    tmp = tmp_path_factory.mktemp("findings")
    plan = plan_build(_fast_spec(tmp), out_dir=tmp / "out")
    return plan.spec, compute_evidence(plan)


def _with_position(spec, i: int, text: str):
    s = spec.model_copy(deep=True)
    s.questions[i].position = text
    return s


def test_example_has_no_findings(example_evidence):
    spec, ev = example_evidence
    assert ev.findings == []
    assert collect_findings(spec, ev) == []


def test_one_wrong_number_gives_exactly_one_finding(example_evidence):
    spec, ev = example_evidence
    wrong = _with_position(spec, 1, spec.questions[1].position + " Response at 240 mg was 61.3%.")
    found = collect_findings(wrong, ev)
    assert len(found) == 1 and found[0].kind == "number" and found[0].where == "questions[1].position"
    assert "61.3%" in found[0].what


def test_contradicted_direction_gives_a_finding(example_evidence):
    spec, ev = example_evidence
    text = "Grade 3 or higher adverse events were lower at 480 mg than at 240 mg."
    found = collect_findings(_with_position(spec, 1, text), ev)
    assert [f.kind for f in found] == ["direction"]
    assert found[0].evidence == ["randomized.480.severe.rate", "randomized.240.severe.rate"]
    # the claim on the old example: modifications "roughly doubled" when the ratio is far from 2
    arms = {a.dose: a for a in ev.analyses.randomized.arms}
    ratio = arms[480.0].safety["modified"].rate / arms[240.0].safety["modified"].rate
    claim = collect_findings(_with_position(spec, 1, "Dose modifications tripled at 480 mg."), ev)
    assert (len(claim) == 1) == (not 2.7 <= ratio <= 3.3)
    er = collect_findings(_with_position(spec, 1, "The exposure-response for efficacy is flat."), ev)
    assert [f.kind for f in er] == ["direction"]  # the response slope's CI excludes 0 in the example


def test_facts_are_checked(example_evidence):
    spec, ev = example_evidence
    s = spec.model_copy(deep=True)
    s.overrides["pmda"].population_note = "Japanese patients: 14 of 122 enrolled."
    s.questions[2].text = "Does the Agency agree with the dose-modification scheme 240 mg to 120 mg to discontinuation?"
    found = collect_findings(s, ev)
    jp = next(g.n for g in ev.ethnic.groups if g.group == "Japanese")
    n = sum(r.n_subjects for r in ev.dose_summary.rows)
    kinds = sorted(f.kind for f in found)
    assert kinds == sorted(["dose_steps"] + ["fact"] * ((jp != 14) + (n != 122))), [f.what for f in found]
    steps = next(f for f in found if f.kind == "dose_steps")
    assert "240 → 120 → 60 mg" in steps.what


def test_annex_against_tablet_strengths(example_evidence):
    spec, ev = example_evidence
    e = ev.model_copy(deep=True)
    e.study.dosage_form = "film-coated tablet, 120 mg"
    found = [f for f in collect_findings(spec, e) if f.where == "study.dosage_form"]
    assert len(found) == 1 and "60 mg" in found[0].what


def test_justification_of_the_example(example_evidence):
    _, ev = example_evidence
    j = ev.justification
    assert j.favoured == 240.0 and j.agrees and j.not_excluded_below == []
    assert [r.dose for r in j.rows] == [60.0, 120.0, 240.0, 480.0]
    for d in (60.0, 120.0):  # the lower doses lose response: excluded by the E-R for efficacy
        assert j.row(d).efficacy_excluded and j.row(d).cell("er_efficacy").verdict == "against"
    assert j.row(480.0).cell("randomized").verdict == "against"
    assert j.row(240.0).cell("randomized").verdict == "supports"
    # every E-R slope whose CI excludes no effect is a material result
    er = ev.analyses.exposure_response
    material = {m.endpoint for m in j.material if m.source == "er"}
    assert material == {m.endpoint for m in er.models
                        if m.or_per_doubling_ci_lower > 1 or m.or_per_doubling_ci_upper < 1}


def test_justification_findings_when_the_evidence_favours_another_dose(example_evidence):
    _, ev = example_evidence
    j = ev.justification.model_copy(deep=True)
    j.favoured = 120.0
    j.not_excluded_below = [60.0]
    kinds = [(f.kind, f.evidence[0]) for f in j.findings()]
    assert kinds == [("dosage", "just.favoured"), ("dosage", "just.60")]


def test_predictions_flag_extrapolation_and_follow_observed_exposure():
    import numpy as np

    from dossier.analyses.predictions import ExposureRelation

    dose = np.repeat([100.0, 400.0], 4)
    expo = np.repeat([10.0, 40.0], 4) * np.tile([0.8, 0.9, 1.1, 1.25], 2)
    rel = ExposureRelation(dose, expo)
    gm = np.exp(np.mean(np.log([0.8, 0.9, 1.1, 1.25])))
    lgm, basis = rel.log_gm_at(200.0)  # log-log interpolation: GM 20 x the shared spread
    assert basis == "interpolated" and np.exp(lgm) == pytest.approx(20 * gm)
    _, basis = rel.log_gm_at(800.0)  # two doses: no power model, dose-proportional from the nearest
    assert basis == "dose-proportional"
    flat = ExposureRelation(np.repeat([100.0, 200.0, 400.0], 3), np.repeat([10.0, 20.0, 20.0], 3))
    lgm, basis = flat.log_gm_at(300.0)  # flat between 200 and 400: stays at 20, not dose-proportional 30
    assert basis == "interpolated" and np.exp(lgm) == pytest.approx(20.0)
    _, basis = flat.log_gm_at(800.0)
    assert basis == "power model"


# -- CLI ---------------------------------------------------------------------------------------------

def test_check_and_strict_build(tmp_path, capsys):
    from dossier.cli import main
    from dossier.render.write import MARKER, marker_text

    def wrong(raw):
        raw["questions"][1]["position"] += " Response at 240 mg was 61.3%."

    spec = _fast_spec(tmp_path, questions=wrong)
    out = tmp_path / "out"
    previous = out / "examplinib-EXM-101"
    previous.mkdir(parents=True)
    # a previous build's folder: its marker and a manifest listing its files (dossier/render/write.py)
    (previous / MARKER).write_text(marker_text("examplinib-EXM-101"), encoding="utf-8")
    (previous / "manifest.json").write_text(json.dumps({"study": "examplinib-EXM-101",
                                                        "outputs": [{"path": "evidence.json"}]}), encoding="utf-8")
    (previous / "evidence.json").write_text("previous", encoding="utf-8")
    rc = main(["build", str(spec), "--strict", "--format", "html", "--agency", "fda", "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "1 finding" in err and "61.3%" in err and "Traceback" not in err
    assert (previous / "evidence.json").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in previous.iterdir()) == sorted([MARKER, "evidence.json", "manifest.json"])
    assert main(["check", str(spec), "--out", str(out), "--json"]) == 1
    assert '"kind": "number"' in capsys.readouterr().out


def test_rebuild_from_cached_evidence_is_byte_identical(tmp_path: Path):
    """A rebuild that reuses the cached evidence (only templates changed) writes the same documents as the
    fresh build: the fresh build renders from the evidence as read back from evidence.json (dict order
    included; the randomized comparison once listed its rows in another order after the round trip)."""
    from dossier.pipeline import build


    spec = _fast_spec(tmp_path)
    out = tmp_path / "out"
    first = build(spec, formats="html", out_dir=out, agencies="fda")
    html = (first.study_dir / "fda" / "dossier.html").read_bytes()
    evidence = (first.study_dir / "evidence.json").read_bytes()
    manifest_path = first.study_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["templates_sha256"] = "0" * 64  # as if a template had changed: the evidence is reused
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    second = build(spec, formats="html", out_dir=out, agencies="fda")
    assert second.status == "rendered"
    assert (second.study_dir / "evidence.json").read_bytes() == evidence
    assert (second.study_dir / "fda" / "dossier.html").read_bytes() == html
