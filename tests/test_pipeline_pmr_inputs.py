"""pipeline.pmr_inputs / er_facts: the facts the PMR-risk score reads from the evidence. Each fact is checked
against the value put into hand-made evidence, so swapping the efficacy and safety E-R slopes, dropping the
MTD or reading another dose's rates fails here."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

from dossier.pipeline import er_facts, persistent_low_grade_rate, pmr_inputs
from dossier.spec import load_spec

SPEC = load_spec(Path(__file__).resolve().parents[1] / "examples" / "examplinib" / "study.yaml")


def rate(value):
    return NS(rate=value)


def row(dose, n, red, intr, disc, g3, control=False):
    return NS(dose=dose, n_subjects=n, control=control, reduction=rate(red), interruption=rate(intr),
              discontinuation=rate(disc), grade3=rate(g3))


def dose_summary():
    return NS(rows=[row(0.0, 5, 0.0, 0.0, 0.0, 0.0, control=True), row(60.0, 3, 0.0, 0.0, 0.0, 0.0),
                    row(120.0, 6, 0.1, 0.2, 0.0, 0.17), row(240.0, 30, 0.13, 0.27, 0.03, 0.2),
                    row(480.0, 30, 0.3, 0.4, 0.1, 0.33), row(720.0, 9, 0.5, 0.6, 0.2, 0.44),
                    row(960.0, 0, None, None, None, None)],
              measures={"withdrawn": {"source": "ADAE AEACN"}})  # discontinuation from ADAE (not ADSL)


def model(endpoint, slope, lo, hi):
    return NS(endpoint=endpoint, slope=slope, slope_ci_lower=lo, slope_ci_upper=hi)


def analyses(models=None, low_grade=0.21):
    er = NS(models=models if models is not None else [model("response", 0.05, -0.2, 0.3),
                                                        model("severe", 1.3, 0.6, 2.0),
                                                        model("other", 9.0, 8.0, 10.0)])
    arms = [NS(dose=240.0, control=False, endpoints=[NS(endpoint="persistent_low_grade", rate=rate(low_grade))]),
            NS(dose=480.0, control=False, endpoints=[NS(endpoint="persistent_low_grade", rate=rate(0.4))])]
    return NS(exposure_response=er, tolerability=NS(arms=arms))


def test_er_facts_map_each_endpoint_to_its_kind():
    facts = er_facts(analyses())
    assert facts == {"efficacy_er_slope": 0.05, "efficacy_er_ci": (-0.2, 0.3),
                     "safety_er_slope": 1.3, "safety_er_ci": (0.6, 2.0)}


def test_er_facts_without_models_or_analyses():
    assert er_facts(None) == {}
    assert er_facts(analyses(models=[model("severe", 1.3, 0.6, 2.0)])) == {"safety_er_slope": 1.3,
                                                                         "safety_er_ci": (0.6, 2.0)}
    assert er_facts(NS(exposure_response=None)) == {}


def test_pmr_inputs_read_the_proposed_dosage_and_the_mtd():
    assert SPEC.proposed_dosage == 240
    inp = pmr_inputs(SPEC, dose_summary(), 720.0, analyses())
    assert inp.proposed_dosage == 240 and inp.mtd == 720.0
    assert inp.max_administered_dose == 720.0, "960 mg was given to nobody; the control arm does not count"
    assert inp.dose_levels == [60.0, 120.0, 240.0, 480.0, 720.0]
    assert inp.n_patients_at_proposed == 30
    assert (inp.dose_reduction_rate, inp.dose_interruption_rate, inp.discontinuation_rate, inp.grade3_rate) == (
        0.13, 0.27, 0.03, 0.2)
    assert inp.efficacy_er_slope == 0.05 and inp.safety_er_slope == 1.3
    assert inp.efficacy_er_ci == (-0.2, 0.3) and inp.safety_er_ci == (0.6, 2.0)
    assert inp.persistent_low_grade_rate == 0.21
    assert inp.randomized_dosages == [240.0, 480.0] and inp.modality == SPEC.study.modality.value


def test_pmr_inputs_without_mtd_and_unknown_rates():
    ds = dose_summary()
    ds.rows[3] = row(240.0, 30, None, None, None, None)
    inp = pmr_inputs(SPEC, ds, None, None)
    assert inp.mtd is None
    assert inp.dose_reduction_rate is None and inp.grade3_rate is None
    assert inp.efficacy_er_slope is None and inp.persistent_low_grade_rate is None


def test_persistent_low_grade_rate_is_the_doses_own():
    assert persistent_low_grade_rate(analyses(), 480.0) == 0.4
    assert persistent_low_grade_rate(analyses(), 120.0) is None
    assert persistent_low_grade_rate(None, 240.0) is None

