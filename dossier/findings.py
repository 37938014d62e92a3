"""Findings: statements in the spec that the evidence does not bear out.

A :class:`Finding` names its kind, where it is (the spec key path), what is wrong, the evidence ids it
was checked against and a hint. Findings are computed at the evidence stage (they depend only on the
spec and the evidence), stored in ``evidence.json``, printed by ``dossier build``, listed by ``dossier
check`` and turned into a failed build by ``dossier build --strict``.

The sponsor's text (question texts, positions, agency notes and PMR override reasons) stays the
sponsor's words, but it is checked (numbers and facts everywhere; direction claims in positions, notes and
reasons, not in the questions, which ask rather than claim):

1. **References** ``{ev:KEY}`` cite an evidence value by its key (the catalogue below, e.g.
   ``{ev:randomized.480_vs_240.severe.rate_ratio}``); they are rendered with the value, formatted as in
   the tables, and a link to its evidence id (``ref.KEY``). A key that no spec of this shape can have is a
   :class:`~dossier.errors.SpecError` at ``dossier validate`` (with close matches); a key the study's
   evidence lacks (e.g. no randomized part) is a :class:`~dossier.errors.BuildError` at build.
2. **Numbers** written as plain text must match an evidence value *at their printed rounding*: ``72.5%``
   matches a proportion in [0.7245, 0.7255] or a percentage-point value in [72.45, 72.55]; ``2.8``
   matches a ratio, count, dose ... in [2.75, 2.85]. A number after a hedge ("about", "approximately",
   "roughly", "around", "nearly", "almost", "~") matches within 10% (relative). A number followed by the
   dose unit must be a studied dose level or a tablet strength. Not checked: numbers glued to letters
   (``Q3``, ``ICH E4``), labels (after "grade", "phase", "question", "section", "cycle", "part", "step", "version",
   "line", "day(s)", "week(s)", "month(s)"), years (1900-2100) and numbers inside ``{ev:}``.
3. **Direction claims**, clause by clause (clauses end at ``.``, ``;``, "while", "whereas", "but", ", with",
   ", so"): a clause
   naming a *measure* (objective response, grade >= 3 / severe AEs, serious AEs, dose modifications,
   reductions, interruptions, discontinuations), a *direction* and one or two *doses* is checked against
   the observed rates -- the randomized arms when both doses were randomized, otherwise the per-dose
   overview. With one dose, the other dose is the other randomized arm (no check if the dose was not
   randomized). With two doses the claim is about the first dose relative to the second ("from A to B":
   B relative to A). Directions and the rule that contradicts them (d = difference, r = ratio, 95% CI
   of d by Newcombe's method):

   ============================================  ==========================================
   increased / higher / rose / more / greater    contradicted if d <= 0
   decreased / lower / fell / fewer / less       contradicted if d >= 0
   similar / comparable / no increase / plateau  contradicted if the CI of d excludes 0
   doubled / tripled / halved (k = 2, 3, 1/2)    contradicted if r is outside k +/- 10%
   roughly (about, nearly ...) doubled ...       contradicted if r is outside k +/- 25%
   more than doubled ...                         contradicted if r < k
   ============================================  ==========================================

   A clause about the *exposure-response* (it says "exposure-response", "with exposure", "above the
   exposures of" or "per doubling of exposure"; e.g. "the odds of response rise with exposure", "no
   further rise above the exposures of 240 mg") is checked against the logistic E-R slope: flat is contradicted
   when the slope's 95% CI excludes 0 (the model above the proposed dosage when the clause says "above"),
   a sign when the estimate has the other sign.
4. **Facts**: "N Japanese" / "Japanese patients: N" (the Japanese count of the data), "N of M enrolled"
   (M = patients in ADSL), "N patients per arm" (each randomized arm), "MTD of X" (the MTD the design
   selected), and a dose-reduction sequence "A -> B -> C" / "A to B to discontinuation" (the labeling
   annex's steps: the next lower studied dose levels, and each must be a multiple of a tablet strength
   stated in ``study.dosage_form``). The annex's own steps are checked against the tablet strengths too.
5. **The dosage**: when the justification matrix (:mod:`dossier.analyses.justification`) favours another
   dosage than the spec's proposed one, or leaves a lower dosage not excluded, that is a finding.
"""

from __future__ import annotations

import difflib
import html
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from dossier.errors import BuildError, SpecError
from dossier.finding import Finding, FindingsError  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from dossier.evidence import CoreEvidence
    from dossier.spec import StudySpec


# -- the catalogue of citable values ---------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    key: str
    value: float
    kind: str  # rate | pp | ratio | count | dose | p | number

    def text(self, unit: str = "mg") -> str:
        """The value as the tables print it."""
        v = self.value
        if self.kind == "rate":
            return f"{100 * v:.1f}%"
        if self.kind == "pp":
            return f"{v:+.1f} percentage points"
        if self.kind == "ratio":
            return f"{v:.2f}"
        if self.kind == "count":
            return f"{int(round(v))}"
        if self.kind == "dose":
            return f"{v:g} {unit}"
        if self.kind == "p":
            return f"{v:.1e}" if v < 1e-4 else f"{v:.4f}"
        return f"{v:.1f}"


RATE_FIELDS = ("rate", "events", "n", "lower", "upper")
#: endpoint aliases accepted in references (the per-dose overview uses other names than the analyses)
ALIASES = {"grade3": "severe", "orr": "response", "reduction": "reduced", "interruption": "interrupted",
           "discontinuation": "withdrawn"}
_DS_NAMES = {"response": "response", "grade3": "severe", "serious": "serious", "reduction": "reduced",
             "interruption": "interrupted", "discontinuation": "withdrawn", "dlt": "dlt"}
ENDPOINTS = ("response", "severe", "serious", "modified", "reduced", "interrupted", "withdrawn", "dlt",
             "persistent_low_grade", "any_teae")
ER_FIELDS = ("or_per_doubling", "lower", "upper", "p_value")


def _d(x: float) -> str:
    return f"{x:g}"


def _rate_values(out: dict[str, Value], prefix: str, r: Any) -> None:
    if r is None:
        return
    rate = getattr(r, "rate", None)
    lo = getattr(r, "ci_lower", getattr(r, "lower", None))
    hi = getattr(r, "ci_upper", getattr(r, "upper", None))
    for name, v, kind in (("rate", rate, "rate"), ("events", getattr(r, "events", None), "count"),
                          ("n", getattr(r, "n", None), "count"), ("lower", lo, "rate"), ("upper", hi, "rate")):
        if isinstance(v, int | float) and math.isfinite(v):
            out[f"{prefix}.{name}"] = Value(f"{prefix}.{name}", float(v), kind)


def _put(out: dict[str, Value], key: str, v: Any, kind: str) -> None:
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        out[key] = Value(key, float(v), kind)


def evidence_values(ev: CoreEvidence) -> dict[str, Value]:
    """Every citable value of the evidence by key (the keys ``{ev:KEY}`` references use)."""
    out: dict[str, Value] = {}
    _put(out, "study.proposed_dosage", ev.proposed_dosage, "dose")
    for d in ev.doses.levels:
        _put(out, f"study.dose_levels.{_d(d)}", d, "dose")
    for s in tablet_strengths(ev.study.dosage_form, ev.doses.unit):
        _put(out, f"study.tablet_strength.{_d(s)}", s, "dose")
    _put(out, "study.n_enrolled", sum(r.n_subjects for r in ev.dose_summary.rows), "count")
    _put(out, "esc.mtd", ev.mtd, "dose")
    for row in ev.dose_summary.rows:
        p = f"ds.{_d(row.dose)}"
        _put(out, f"{p}.n", row.n_subjects, "count")
        for name, ep in _DS_NAMES.items():
            _rate_values(out, f"{p}.{ep}", getattr(row, name, None))
    a = ev.analyses
    if a is None:
        return out
    _randomized_values(out, a.randomized)
    _exposure_response_values(out, a.exposure_response)
    _prediction_values(out, a.predictions)
    br = a.benefit_risk
    if br is not None:
        _put(out, "br.recommended_dose", br.recommended_dose, "dose")
        for u in br.dosages:
            _put(out, f"br.{_d(u.dose)}.utility", u.utility, "number")
    if ev.ethnic is not None:
        for g in ev.ethnic.groups:
            if g.group == "Japanese":
                _put(out, "jp.n_japanese", g.n, "count")
        _put(out, "jp.n_total", ev.ethnic.n_total, "count")
    return out


def _randomized_values(out: dict[str, Value], rnd: Any) -> None:
    """Arms and pairwise comparisons of the randomized part (``randomized.*``)."""
    if rnd is None:
        return
    for arm in rnd.arms:
        p = f"randomized.{_d(arm.dose)}"
        _put(out, f"{p}.n", arm.n, "count")
        _rate_values(out, f"{p}.response", arm.response)
        for k, r in arm.safety.items():
            _rate_values(out, f"{p}.{k}", r)
        if arm.pfs is not None:
            _put(out, f"{p}.pfs.median", arm.pfs.median, "number")
    rates = {arm.dose: arm for arm in rnd.arms}
    for c in rnd.comparisons:
        prefixes = [f"randomized.{_d(c.arm)}_vs_{_d(c.reference)}"]
        if len(rnd.comparisons) == 1:
            prefixes.append("randomized")
        for p in prefixes:
            items = ([("response", c.response)] if c.response else []) + list(c.safety.items())
            for k, diff in items:
                _put(out, f"{p}.{k}.diff", None if diff.estimate is None else 100 * diff.estimate, "pp")
                _put(out, f"{p}.{k}.diff_lower", None if diff.ci_lower is None else 100 * diff.ci_lower, "pp")
                _put(out, f"{p}.{k}.diff_upper", None if diff.ci_upper is None else 100 * diff.ci_upper, "pp")
                ra = _arm_rate(rates.get(c.arm), k)
                rb = _arm_rate(rates.get(c.reference), k)
                if ra is not None and rb:
                    _put(out, f"{p}.{k}.rate_ratio", ra / rb, "ratio")
            if c.pfs_hr is not None:
                _put(out, f"{p}.pfs.hr", c.pfs_hr.hr, "ratio")
                _put(out, f"{p}.pfs.lower", c.pfs_hr.ci_lower, "ratio")
                _put(out, f"{p}.pfs.upper", c.pfs_hr.ci_upper, "ratio")


def _exposure_response_values(out: dict[str, Value], er: Any) -> None:
    """Exposure-response models, PFS and exposure by dose (``er.*``)."""
    if er is None:
        return
    for m in er.models:
        _er_values(out, f"er.{m.endpoint}", m)
    _er_values(out, "er.response_above_proposed", er.efficacy_above_proposed)
    if er.pfs is not None and er.pfs.hr_per_doubling is not None:
        h = er.pfs.hr_per_doubling
        _put(out, "er.pfs.hr_per_doubling", h.hr, "ratio")
        _put(out, "er.pfs.lower", h.ci_lower, "ratio")
        _put(out, "er.pfs.upper", h.ci_upper, "ratio")
        _put(out, "er.pfs.p_value", h.p_value, "p")
    for b in er.exposure_by_dose:
        _put(out, f"er.exposure.{_d(b.dose)}.median", b.median, "number")


def _prediction_values(out: dict[str, Value], pred: Any) -> None:
    """Predictions at the candidate dosages and their differences (``pred.*``)."""
    if pred is None:
        return
    for dp in pred.dosages:
        _put(out, f"pred.{_d(dp.dose)}.exposure_median", dp.exposure_median, "number")
        for e in dp.endpoints:
            _put(out, f"pred.{_d(dp.dose)}.{e.endpoint}", e.estimate, "rate")
            _put(out, f"pred.{_d(dp.dose)}.{e.endpoint}.lower", e.ci_lower, "rate")
            _put(out, f"pred.{_d(dp.dose)}.{e.endpoint}.upper", e.ci_upper, "rate")
    for df in pred.differences:
        _put(out, f"pred.{_d(df.dose)}_vs_{_d(df.reference)}.{df.endpoint}.diff", 100 * df.estimate, "pp")


def _er_values(out: dict[str, Value], p: str, m: Any) -> None:
    if m is None:
        return
    _put(out, f"{p}.or_per_doubling", m.or_per_doubling, "ratio")
    _put(out, f"{p}.lower", m.or_per_doubling_ci_lower, "ratio")
    _put(out, f"{p}.upper", m.or_per_doubling_ci_upper, "ratio")
    _put(out, f"{p}.p_value", m.p_value, "p")


def _arm_rate(arm: Any, key: str) -> float | None:
    if arm is None:
        return None
    r = arm.response if key == "response" else arm.safety.get(key)
    return None if r is None else r.rate


def possible_keys(spec: StudySpec) -> set[str]:
    """Every key a study of this spec's shape can have (what ``dossier validate`` accepts)."""
    doses = [_d(d) for d in spec.doses.levels] + (["0"] if spec.doses.control_arms else [])
    keys = {"study.proposed_dosage", "study.n_enrolled", "esc.mtd", "br.recommended_dose", "jp.n_japanese",
            "jp.n_total", "er.pfs.hr_per_doubling", "er.pfs.lower", "er.pfs.upper", "er.pfs.p_value"}
    keys |= {f"study.dose_levels.{d}" for d in doses}
    keys |= {f"study.tablet_strength.{_d(s)}" for s in tablet_strengths(spec.study.dosage_form, spec.doses.unit)}
    eps = ENDPOINTS + tuple(f"aesi_{t.lower().replace(' ', '_')}" for t in spec.analyses.aesi_terms)
    rnd = [_d(d) for d in spec.randomized_dosages] + (["0"] if spec.doses.control_arms else [])
    pairs = [f"{a}_vs_{b}" for a in rnd for b in rnd if a != b] + ["randomized"]
    for d in doses:
        keys |= {f"ds.{d}.n", f"er.exposure.{d}.median", f"pred.{d}.exposure_median", f"br.{d}.utility"}
        for ep in eps:
            keys |= {f"ds.{d}.{ep}.{f}" for f in RATE_FIELDS}
            keys |= {f"pred.{d}.{ep}", f"pred.{d}.{ep}.lower", f"pred.{d}.{ep}.upper"}
            keys |= {f"pred.{d}_vs_{r}.{ep}.diff" for r in doses if r != d}
    for d in rnd:
        keys |= {f"randomized.{d}.n", f"randomized.{d}.pfs.median"}
        keys |= {f"randomized.{d}.{ep}.{f}" for ep in eps for f in RATE_FIELDS}
    for p in pairs:
        p = p if p == "randomized" else f"randomized.{p}"
        keys |= {f"{p}.{ep}.{f}" for ep in eps for f in ("diff", "diff_lower", "diff_upper", "rate_ratio")}
        keys |= {f"{p}.pfs.hr", f"{p}.pfs.lower", f"{p}.pfs.upper"}
    for ep in eps + ("response_above_proposed",):
        keys |= {f"er.{ep}.{f}" for f in ER_FIELDS}
    return keys


# -- references ------------------------------------------------------------------------------------

_REF = re.compile(r"\{ev:([^{}]*)\}")


def normalise_key(key: str) -> str:
    parts = key.strip().split(".")
    return ".".join(ALIASES.get(p, p) for p in parts)


def references(text: str) -> list[str]:
    return [m.group(1) for m in _REF.finditer(text or "")]


def spec_texts(spec: StudySpec) -> list[tuple[str, str]]:
    """The sponsor's free text that is checked: (key path, text)."""
    out: list[tuple[str, str]] = []
    for i, q in enumerate(spec.questions):
        out.append((f"questions[{i}].text", q.text))
        out.append((f"questions[{i}].position", q.position))
        for agency, w in sorted(q.by_agency.items()):
            out += [(f"questions[{i}].by_agency.{agency}.{k}", t) for k, t in (("text", w.text),
                                                                               ("position", w.position)) if t]
    for agency, ov in sorted(spec.overrides.items()):
        if ov.population_note:
            out.append((f"overrides.{agency}.population_note", ov.population_note))
        for j, p in enumerate(ov.prior_advice or []):
            out.append((f"overrides.{agency}.prior_advice[{j}]", p))
    for j, o in enumerate(spec.pmr.overrides):
        out.append((f"pmr.overrides[{j}].reason", o.reason))
    return out


def _unknown(key: str, where: str, known: set[str], cls: type, why: str) -> Exception:
    close = difflib.get_close_matches(key, sorted(known), n=5, cutoff=0.6)
    hint = ("close matches: " + ", ".join(close)) if close else "see the key catalogue in dossier/findings.py"
    return cls(f"unknown evidence reference {{ev:{key}}} ({why})", where=where, hint=hint)


def check_spec_references(spec: StudySpec) -> None:
    """``dossier validate``: every ``{ev:KEY}`` must be a key a study of this shape can have."""
    known = possible_keys(spec)
    for where, text in spec_texts(spec):
        for key in references(text):
            if normalise_key(key) not in known:
                raise _unknown(key, where, known, SpecError, "no such evidence key")


def render_text(text: str, values: dict[str, Value], where: str, unit: str = "mg") -> Markup:
    """The sponsor's text as safe HTML with each ``{ev:KEY}`` replaced by its value and evidence link."""
    parts: list[str] = []
    last = 0
    for m in _REF.finditer(text):
        parts.append(html.escape(text[last:m.start()], quote=False))
        key = normalise_key(m.group(1))
        v = values.get(key)
        if v is None:
            raise _unknown(m.group(1), where, set(values), BuildError, "not in this study's evidence")
        parts.append(f'<a class="num" data-eid="ref.{html.escape(key)}" href="#ev-ref">'
                     f"{html.escape(v.text(unit))}</a>")
        last = m.end()
    parts.append(html.escape(text[last:], quote=False))
    return Markup("".join(parts))


# -- numbers ---------------------------------------------------------------------------------------

_NUM = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)(?![\w])(\s*%)?")
_LABEL_BEFORE = re.compile(r"(?:grades?|phases?|questions?|sections?|cycles?|parts?|steps?|versions?|lines?|days?|weeks?|"
                           r"months?|cohorts?|item|n\s*=)\s*(?:≥|>=|>|<|≤|<=)?\s*(?:\d+\s*[–-]\s*)?$|(?:\d\s*/\s*)$|/\s*$", re.I)
_HEDGE = re.compile(r"(?:about|approximately|approx\.|roughly|around|nearly|almost|some|~|≈)\s*$", re.I)


def tablet_strengths(dosage_form: str, unit: str = "mg") -> list[float]:
    """Strengths stated in ``study.dosage_form`` ("film-coated tablet, 60 mg and 120 mg")."""
    u = re.escape(unit)
    rx = rf"(\d+(?:\.\d+)?)(?=(?:\s*{u})?(?:\s*(?:,|and|or|/)\s*\d+(?:\.\d+)?(?:\s*{u})?)*\s*{u}\b)"
    return sorted({float(x) for x in re.findall(rx, dosage_form or "")})


def _matches(x: float, decimals: int, v: Value, pct: bool, hedged: bool) -> bool:
    cands = []
    if pct:
        if v.kind == "rate":
            cands.append(100 * v.value)
        elif v.kind == "pp":
            cands += [v.value, abs(v.value)]
    else:
        cands.append(v.value)
        if v.kind in ("rate",):
            cands.append(100 * v.value)
        if v.kind == "pp":
            cands.append(abs(v.value))
    tol = 0.1 * abs(x) if hedged else 0.5 * 10 ** (-decimals) + 1e-9
    return any(abs(c - x) <= tol for c in cands)


def check_numbers(text: str, where: str, values: dict[str, Value], unit: str, doses: list[float],
                  strengths: list[float], skip: list[tuple[int, int]] = ()) -> list[Finding]:
    """Plain numbers that match no evidence value (``skip``: spans already checked as facts)."""
    plain = _REF.sub(lambda m: " " * len(m.group(0)), text)
    for a, b in skip:
        plain = plain[:a] + " " * (b - a) + plain[b:]
    out = []
    u = re.compile(rf"\s*{re.escape(unit)}\b")
    for m in _NUM.finditer(plain):
        s = m.group(1).replace(",", "")
        x = float(s)
        before = plain[max(0, m.start() - 14):m.start()]
        if _LABEL_BEFORE.search(before):
            continue
        if "." not in s and 1900 <= x <= 2100 and not m.group(2):
            continue  # a year
        decimals = len(s.split(".")[1]) if "." in s else 0
        hedged = bool(_HEDGE.search(before))
        pct = bool(m.group(2))
        if u.match(plain, m.end()) and not pct:
            if x not in doses and x not in strengths:
                out.append(Finding(kind="number", where=where,
                                   what=f"{s} {unit} is neither a studied dose level "
                                        f"({', '.join(_d(d) for d in doses)} {unit}) nor a tablet strength",
                                   evidence=["study.dose_levels"], hint="cite a studied dose or correct the text"))
            continue
        hits = [v.key for v in values.values() if _matches(x, decimals, v, pct, hedged)]
        if not hits:
            shown = s + ("%" if pct else "")
            out.append(Finding(kind="number", where=where,
                               what=f"the number {shown} in \u201c{_context(plain, m)}\u201d matches no evidence value "
                                    f"at its printed rounding",
                               hint="cite the value with {ev:KEY} or correct it; keys: see `dossier check --keys`"))
    return out


def _context(text: str, m: re.Match, width: int = 40) -> str:
    a = max(0, m.start() - width)
    b = min(len(text), m.end() + width)
    return ("..." if a else "") + text[a:b].strip() + ("..." if b < len(text) else "")


# -- direction claims ------------------------------------------------------------------------------

MEASURES: list[tuple[str, str]] = [  # (regex, endpoint key); first match wins per phrase
    (r"grade\s*(?:3|≥\s*3|>=\s*3|three)\s*(?:or|and)\s*(?:higher|above|greater)|grade\s*(?:≥|>=)\s*3|"
     r"grade\s*3\+|\bsevere (?:adverse|TEAE|AE)", "severe"),
    (r"\bserious (?:adverse|TEAE|AE)", "serious"),
    (r"dose modifications?", "modified"),
    (r"dose reductions?", "reduced"),
    (r"(?:dose|drug|treatment) interruptions?", "interrupted"),
    (r"discontinuations?(?: for adverse events| due to adverse events)?", "withdrawn"),
    (r"(?<!exposure-)(?<!exposure–)(?<!exposure )\b(?:objective )?response(?: rates?)?\b|\bORR\b", "response"),
]
DIRECTIONS: list[tuple[str, str]] = [  # (regex, direction) checked in this order
    (r"more than (?:doubled|twice)", ">2"), (r"more than tripled", ">3"),
    (r"(?:about|approximately|roughly|nearly|almost|around)\s+(?:doubled|twice)", "~2"),
    (r"(?:about|approximately|roughly|nearly|almost|around)\s+tripled", "~3"),
    (r"(?:about|approximately|roughly|nearly|almost|around)\s+halved", "~0.5"),
    (r"\bdoubled\b|\btwice\b|\btwo-fold\b|\b2-fold\b", "2"), (r"\btripled\b|\bthree-fold\b", "3"),
    (r"\bhalved\b", "0.5"),
    (r"no (?:further )?(?:increase|difference|higher|rise)|did not (?:increase|differ|rise)|not (?:higher|increased|different)|"
     r"\bsimilar\b|\bcomparable\b|\bplateau(?:ed)?\b|\bflat\b|\bunchanged\b", "same"),
    (r"\bincreas\w*|\bhigher\b|\brose\b|\brise[sn]?\b|\bgreater\b|\bmore frequent\w*", "up"),
    (r"\bdecreas\w*|\blower\b|\bfell\b|\bfewer\b|\bless frequent\w*", "down"),
]
_CLAUSE = re.compile(r"[.;]\s|\bwhile\b|\bwhereas\b|\bbut\b|,\s+(?:with|so|and so)\b")
_ER_CLAUSE = re.compile(r"exposure[-– ]response|\bE-R\b|\bwith (?:increasing |higher |the )?exposure\b|"
                        r"\babove the exposures? of\b|per doubling of exposure", re.I)
ER_DIRECTIONS = {"same": "flat", "up": "positive", "down": "negative"}


def _doses_in(clause: str, unit: str, levels: list[float]) -> list[float]:
    u = re.escape(unit)
    found: list[float] = []
    for m in re.finditer(rf"(\d+(?:\.\d+)?)(?=\s*(?:{u}\b|(?:and|or|vs\.?|versus|,|to)\s*\d+(?:\.\d+)?\s*{u}\b))",
                         clause):
        x = float(m.group(1))
        if x in levels and x not in found:
            found.append(x)
    return found


def _direction(clause: str) -> str | None:
    for rx, d in DIRECTIONS:
        if re.search(rx, clause, flags=re.I):
            return d
    return None


def _strip_measures(clause: str) -> str:
    """The clause without its measure names ("grade 3 or higher" is not a direction)."""
    for rx, _ in MEASURES:
        clause = re.sub(rx, " ", clause, flags=re.I)
    return clause


def _measures(clause: str) -> list[str]:
    out = []
    for rx, key in MEASURES:
        if re.search(rx, clause, flags=re.I) and key not in out:
            out.append(key)
    return out


def _observed(ev: CoreEvidence, dose: float, key: str, randomized: bool) -> tuple[int, int, str] | None:
    """(events, n, evidence id) of an endpoint at a dose: randomized arm or per-dose overview."""
    a = ev.analyses
    if randomized and a is not None and a.randomized is not None:
        arm = next((x for x in a.randomized.arms if x.dose == dose), None)
        r = None if arm is None else (arm.response if key == "response" else arm.safety.get(key))
        if r is not None and r.n:
            return r.events, r.n, f"randomized.{_d(dose)}.{key}.rate"
    row = next((x for x in ev.dose_summary.rows if x.dose == dose and not x.control), None)
    name = {v: k for k, v in _DS_NAMES.items()}.get(key)
    if row is None:
        return None
    if name is None and key == "modified" and a is not None and a.tolerability is not None:
        tarm = next((x for x in a.tolerability.arms if x.dose == dose and not x.control), None)
        r = next((e.rate for e in tarm.endpoints if e.endpoint == "modified"), None) if tarm else None
        return (r.events, r.n, f"tol.{_d(dose)}.modified") if r is not None and r.n else None
    r = getattr(row, name, None) if name else None
    if r is None or not getattr(r, "n", 0) or getattr(r, "rate", None) is None:
        return None
    return r.events, r.n, f"ds.{_d(dose)}.{key}.rate"


def check_directions(text: str, where: str, ev: CoreEvidence) -> list[Finding]:
    from dossier.analyses.stats import newcombe_diff_ci

    unit = ev.doses.unit
    levels = list(ev.doses.levels)
    rnd = list(ev.randomized_dosages)
    out: list[Finding] = []
    plain = _REF.sub("", text)
    for clause in _CLAUSE.split(plain):
        direction = _direction(_strip_measures(clause))
        if direction is None:
            continue
        if _ER_CLAUSE.search(clause):
            out += _check_er(clause, direction, where, ev)
            continue
        doses = _doses_in(clause, unit, levels)
        if len(doses) == 1 and doses[0] in rnd and len(rnd) == 2:
            doses = [doses[0], next(d for d in rnd if d != doses[0])]
        if len(doses) != 2:
            continue
        if re.search(r"\bfrom\s+\d", clause):
            doses = [doses[1], doses[0]]
        a, b = doses
        both_rnd = a in rnd and b in rnd
        for key in _measures(clause):
            oa, ob = _observed(ev, a, key, both_rnd), _observed(ev, b, key, both_rnd)
            if oa is None or ob is None:
                continue
            (xa, na, ea), (xb, nb, eb) = oa, ob
            ra, rb = xa / na, xb / nb
            diff, lo, hi = newcombe_diff_ci(xa, na, xb, nb)
            bad = _contradicts(direction, ra, rb, lo, hi)
            if bad:
                out.append(Finding(kind="direction", where=where, evidence=[ea, eb],
                                   what=f"\u201c{clause.strip()}\u201d: {key} at {_d(a)} vs {_d(b)} {unit} is "
                                        f"{xa}/{na} ({100 * ra:.1f}%) vs {xb}/{nb} ({100 * rb:.1f}%); {bad}",
                                   hint="state the direction the data show, or cite the values with {ev:KEY}"))
    return out


def _contradicts(direction: str, ra: float, rb: float, lo: float | None, hi: float | None) -> str | None:
    d = ra - rb
    r = ra / rb if rb > 0 else math.inf
    if direction == "up" and d <= 0:
        return "not higher"
    if direction == "down" and d >= 0:
        return "not lower"
    if direction == "same" and lo is not None and hi is not None and (lo > 0 or hi < 0):
        return f"the 95% CI of the difference ({100 * lo:.1f} to {100 * hi:.1f} points) excludes no difference"
    if direction[0] in "~>" or direction[0].isdigit():
        k = float(direction.lstrip("~>"))
        if direction.startswith(">"):
            ok = r >= k
        else:
            tol = 0.25 if direction.startswith("~") else 0.10
            ok = (1 - tol) * k <= r <= (1 + tol) * k
        if not ok:
            return f"the ratio is {r:.2f}, not {'more than ' if direction.startswith('>') else ''}{k:g}-fold"
    return None


def _check_er(clause: str, direction: str, where: str, ev: CoreEvidence) -> list[Finding]:
    er = ev.analyses.exposure_response if ev.analyses is not None else None
    if er is None or direction not in ER_DIRECTIONS:
        return []
    if re.search(r"efficacy|\bresponse\b(?!-)|\bORR\b", re.sub(r"exposure[-– ]response", "", clause, flags=re.I),
                 flags=re.I):
        key = "response"
    elif re.search(r"safety|toxicit|grade|severe|adverse", clause, flags=re.I):
        key = "severe"
    else:
        return []
    above = key == "response" and re.search(r"\babove\b|and higher|(?<!grade 3 )or higher", clause, flags=re.I)
    m = er.efficacy_above_proposed if above else er.model(key)
    eid = "er.response_above_proposed" if above else f"er.{key}"
    if m is None:
        return []
    lo, hi, est = m.slope_ci_lower, m.slope_ci_upper, m.slope
    bad = None
    if direction == "same" and (lo > 0 or hi < 0):
        bad = f"the slope's 95% CI ({lo:.2f} to {hi:.2f} per log unit) excludes 0"
    elif direction == "up" and est <= 0:
        bad = f"the slope is {est:.2f} (not positive)"
    elif direction == "down" and est >= 0:
        bad = f"the slope is {est:.2f} (not negative)"
    if bad is None:
        return []
    return [Finding(kind="direction", where=where, evidence=[f"{eid}.or_per_doubling"],
                    what=f"\u201c{clause.strip()}\u201d: the exposure-response for {key} is not "
                         f"{ER_DIRECTIONS[direction]}: {bad}",
                    hint="describe the exposure-response as the analysis shows it")]


# -- facts -----------------------------------------------------------------------------------------

_ARROW = r"\s*(?:→|->|to)\s*"


def check_facts(text: str, where: str, ev: CoreEvidence, values: dict[str, Value],
                spans: list[tuple[int, int]] | None = None) -> list[Finding]:
    """Facts stated in the text (``spans`` receives the character spans of the facts checked)."""
    from dossier.evidence import dose_steps

    out: list[Finding] = []
    plain = _REF.sub(lambda m: " " * len(m.group(0)), text)
    spans = spans if spans is not None else []
    unit = ev.doses.unit
    jp = values.get("jp.n_japanese")

    def found(rx: str):
        for m in re.finditer(rx, plain):
            spans.append(m.span())
            yield m

    for m in found(r"(\d+)\s+(?:of\s+\d+\s+(?:\w+\s+)?)?Japanese|Japanese (?:patients|subjects)\s*[:(]?\s*"
                   r"(?:N\s*=\s*)?(\d+)"):
        n = int(m.group(1) or m.group(2))
        if jp is not None and n != int(jp.value):
            out.append(Finding(kind="fact", where=where, evidence=["jp.n_japanese"],
                               what=f"{n} Japanese patients stated; the data have {int(jp.value)}",
                               hint="use {ev:jp.n_japanese}"))
    enrolled = values.get("study.n_enrolled")
    for m in found(r"\bof\s+(\d+)\s+(?:patients\s+|subjects\s+)?enrolled"):
        n = int(m.group(1))
        if enrolled is not None and n != int(enrolled.value):
            out.append(Finding(kind="fact", where=where, evidence=["study.n_enrolled"],
                               what=f"{n} enrolled stated; ADSL has {int(enrolled.value)} patients",
                               hint="use {ev:study.n_enrolled}"))
    arms = [values[f"randomized.{_d(d)}.n"] for d in ev.randomized_dosages if f"randomized.{_d(d)}.n" in values]
    for m in found(r"((?:about|approximately|roughly|around|nearly)\s+)?(\d+)\s+(?:patients|subjects)\s+"
                   r"(?:per|in each|each)\s+arm"):
        n = int(m.group(2))
        tol = 0.1 * n if m.group(1) else 0
        wrong = [a for a in arms if abs(a.value - n) > tol]
        if wrong:
            out.append(Finding(kind="fact", where=where, evidence=[a.key for a in wrong],
                               what=f"{n} patients per arm stated; the randomized arms have "
                                    f"{', '.join(str(int(a.value)) for a in arms)}",
                               hint="state the arm sizes of the data"))
    for m in found(rf"\bMTD\b(?:\s+of|\s*\(|\s*=|\s+is|\s+was)?\s*(\d+(?:\.\d+)?)\s*{re.escape(unit)}"):
        x = float(m.group(1))
        if ev.mtd is not None and x != ev.mtd:
            out.append(Finding(kind="fact", where=where, evidence=["esc.mtd"],
                               what=f"MTD {m.group(1)} {unit} stated; the design selected {_d(ev.mtd)} {unit}",
                               hint="use {ev:esc.mtd}"))
    # dose-reduction sequence
    steps = dose_steps(ev)
    chain_rx = rf"(\d+(?:\.\d+)?)(?:\s*{re.escape(unit)})?((?:{_ARROW}(?:\d+(?:\.\d+)?(?:\s*{re.escape(unit)})?|" \
               r"discontinu\w*))+)"
    if re.search(r"reduc|modif", plain, flags=re.I):
        for m in re.finditer(chain_rx, plain):
            first = float(m.group(1))
            rest = re.split(_ARROW, m.group(2).strip())
            rest = [r for r in rest if r]
            if first != ev.proposed_dosage or len(rest) < 1:
                continue
            stated = [float(re.match(r"\d+(?:\.\d+)?", r).group(0)) if r[0].isdigit() else None for r in rest]
            doses_stated = [s for s in stated if s is not None]
            if doses_stated != steps:
                annex = " \u2192 ".join(_d(x) for x in [ev.proposed_dosage, *steps]) + f" {unit}"
                out.append(Finding(kind="dose_steps", where=where, evidence=["label.steps"],
                                   what=f"the dose-reduction sequence \u201c{m.group(0).strip()}\u201d differs from "
                                        f"the labeling annex ({annex})",
                                   hint="make the position and the annex (the studied levels below the proposed "
                                        "dosage) agree"))
    return out


def check_annex(ev: CoreEvidence) -> list[Finding]:
    """The labeling annex's dose-reduction steps can be given with the stated tablet strengths."""
    from dossier.evidence import dose_steps

    strengths = tablet_strengths(ev.study.dosage_form, ev.doses.unit)
    if not strengths:
        return []
    out = []
    for d in [ev.proposed_dosage, *dose_steps(ev)]:
        if not any(abs(d / s - round(d / s)) < 1e-9 for s in strengths):
            out.append(Finding(kind="dose_steps", where="study.dosage_form", evidence=["label.steps"],
                               what=f"the {_d(d)} {ev.doses.unit} dose of the labeling annex cannot be given with "
                                    f"the stated tablet strength(s) "
                                    f"({', '.join(_d(s) for s in strengths)} {ev.doses.unit})",
                               hint="state every tablet strength in study.dosage_form, e.g. 'film-coated tablet, "
                                    "60 mg and 120 mg'"))
    return out


def check_wording(spec: StudySpec) -> list[Finding]:
    """A question or position, as one agency's document will print it, uses a term of another agency's
    procedure (the agency profile's ``foreign_terms``: "the Agency", "registrational", "EOP2" in a request to
    the CHMP)."""
    from dossier.jurisdictions import load_profile

    out = []
    for agency in spec.agencies:
        terms = load_profile(agency).foreign_terms
        for i, q in enumerate(spec.questions):
            own = q.by_agency.get(agency)
            for k in ("text", "position"):
                text, where = getattr(q, k), f"questions[{i}].{k}"
                if own is not None and getattr(own, k):
                    text, where = getattr(own, k), f"questions[{i}].by_agency.{agency}.{k}"
                for rx, instead in terms.items():
                    m = re.search(rx, text)
                    if m:
                        out.append(Finding(kind="wording", where=where, hint=f"{instead}; give the {agency.upper()} "
                                           f"wording in questions[{i}].by_agency.{agency}.{k}",
                                           what=f"the {agency.upper()} document would say '{m.group(0)}'"))
    return out


# -- all findings ----------------------------------------------------------------------------------

def collect_findings(spec: StudySpec, ev: CoreEvidence) -> list[Finding]:
    """Every finding of a study's spec against its evidence, in spec order (deterministic)."""
    values = evidence_values(ev)
    unit = ev.doses.unit
    strengths = tablet_strengths(ev.study.dosage_form, unit)
    out: list[Finding] = []
    for where, text in spec_texts(spec):
        for key in references(text):
            if normalise_key(key) not in values:
                raise _unknown(key, where, set(values), BuildError, "not in this study's evidence")
        spans: list[tuple[int, int]] = []
        facts = check_facts(text, where, ev, values, spans)
        out += check_numbers(text, where, values, unit, list(ev.doses.levels), strengths, spans)
        if not where.endswith(".text"):  # a question asks; its claims are checked in the position
            out += check_directions(text, where, ev)
        out += facts
    out += check_annex(ev)
    out += check_wording(spec)
    just = getattr(ev, "justification", None)
    if just is not None:
        out += just.findings()
    return out
