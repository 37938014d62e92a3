"""Wording of results that are stored as codes: the one place where a code becomes a sentence.

Analyses and designs store *what* they found as a :class:`Phrase` (a code and its numbers); the words are in
``dossier/templates/data/wording.yaml``, one Jinja template per code (plain text, no HTML), read once.  The CLI,
the renderer and the tests read the same table, so a sentence is changed in one place and a result never holds
prose.  Below every stage (only the standard library, PyYAML, pydantic and, when a sentence is made, Jinja).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

#: the data files that hold wording (package data next to the templates)
DATA_DIR = Path(__file__).resolve().parent / "templates" / "data"


class Phrase(BaseModel):
    """A statement as data: ``code`` names its wording in ``wording.yaml``; ``values`` fill it in (numbers,
    dose labels, lists, or other phrases as ``{"code": ..., "values": ...}`` mappings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    values: dict[str, Any] = {}

    @field_validator("values")
    @classmethod
    def _plain_values(cls, v: dict[str, Any]) -> dict[str, Any]:
        return plain(v)

    def __str__(self) -> str:
        return say(self)


def plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, tuples as lists and nested phrases as mappings (JSON as it
    is read back)."""
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)) and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if isinstance(value, dict):
        return {k: plain(x) for k, x in value.items()}
    return value


@cache
def data_table(name: str) -> dict[str, Any]:
    """A YAML data file of ``templates/data`` (``name`` without ``.yaml``), read once."""
    import yaml

    with (DATA_DIR / f"{name}.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def wording() -> dict[str, str]:
    """Every code with its wording, flattened: ``{"design.tpt.selected": "dose {{ dose }} is ...", ...}``."""
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                walk(key, v)
            else:
                out[key] = str(v)

    walk("", data_table("wording"))
    return out


def _fmt(value: float, spec: str) -> str:
    return format(value, spec)


@cache
def _environment():
    """Plain-text Jinja (imported when the first sentence is made, so a command that prints none never loads it)."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=False, undefined=StrictUndefined)
    env.filters["fmt"] = _fmt
    env.filters["g"] = lambda v: f"{v:g}"
    env.globals["say"] = say
    return env


#: ``{{ name }}``, ``{{ name|g }}`` or ``{{ name|fmt('spec') }}``: what most wordings use
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*(?:\|\s*(g|fmt\('([^']*)'\))\s*)?\}\}")


@cache
def _template(code: str):
    """A callable that words ``code``'s values: plain placeholders are filled in directly (so the quick CLI
    commands, which print one note, never load Jinja); anything else is a compiled Jinja template."""
    try:
        text = wording()[code]
    except KeyError:
        raise KeyError(f"no wording for the code {code!r} in templates/data/wording.yaml") from None
    if "{%" in text or "{{" in _PLACEHOLDER.sub("", text):
        return _environment().from_string(text).render
    parts = _PLACEHOLDER.split(text)  # literal, name, filter, spec, literal, ...

    def render(**values: Any) -> str:
        out = [parts[0]]
        for i in range(1, len(parts), 4):
            name, filt, spec = parts[i:i + 3]
            if name not in values:
                raise KeyError(f"the wording of {code!r} needs the value {name!r}")
            v = values[name]
            out.append(f"{v:g}" if filt == "g" else format(v, spec) if filt else str(v))
            out.append(parts[i + 3])
        return "".join(out)

    return render


def say(phrase: Phrase | dict | str | None, /, **values: Any) -> str:
    """The sentence of a phrase (a :class:`Phrase`, its ``{"code", "values"}`` mapping, or a code and values);
    "" for ``None`` (nothing to say)."""
    if phrase is None:
        return ""
    if isinstance(phrase, Phrase):
        code, values = phrase.code, phrase.values
    elif isinstance(phrase, dict):
        code, values = phrase["code"], phrase.get("values", {})
    else:
        code = phrase
    return _template(code)(**values)


class Noted(BaseModel):
    """A result with a note stored as a code and its values; ``note`` is its sentence ("" without a code)."""

    note_code: str = ""
    note_values: dict[str, Any] = {}

    @field_validator("note_values")
    @classmethod
    def _plain_values(cls, v: dict[str, Any]) -> dict[str, Any]:
        return plain(v)

    @property
    def note(self) -> str:
        return say(self.note_code, **self.note_values) if self.note_code else ""
