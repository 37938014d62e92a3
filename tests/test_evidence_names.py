"""The proposed dosage has one name from the spec to the templates: ``proposed_dosage`` (the spec's key).

Earlier versions wrote it to evidence.json as ``pmr_risk.inputs.proposed_dose``,
``analyses.benefit_risk.proposed_dose`` and ``analyses.predictions.reference``; a cached rebuild
(pipeline: ``CoreEvidence.model_validate_json`` of the last build's evidence.json) reads such a file to the
same evidence.
"""

from __future__ import annotations

import json

from dossier.evidence import CoreEvidence

#: (path of the object in evidence.json, the name earlier versions used)
OLD_NAMES = [(("pmr_risk", "inputs"), "proposed_dose"),
             (("analyses", "benefit_risk"), "proposed_dose"),
             (("analyses", "predictions"), "reference")]


def _keys(x, out: set[str]) -> set[str]:
    if isinstance(x, dict):
        out |= set(x)
        for v in x.values():
            _keys(v, out)
    elif isinstance(x, list):
        for v in x:
            _keys(v, out)
    return out


def test_evidence_uses_the_spec_name_and_reads_the_old_names(built_example):
    text = (built_example.study_dir / "evidence.json").read_text(encoding="utf-8")
    new = json.loads(text)
    assert "proposed_dose" not in _keys(new, set())
    old = json.loads(text)
    for path, name in OLD_NAMES:
        obj = old
        for p in path:
            obj = obj[p]
        assert obj["proposed_dosage"] == new["proposed_dosage"]  # the spec's value, under the spec's name
        obj[name] = obj.pop("proposed_dosage")
    again = CoreEvidence.model_validate_json(json.dumps(old))
    assert again.canonical_json() == CoreEvidence.model_validate_json(text).canonical_json()
