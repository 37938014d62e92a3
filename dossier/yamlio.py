"""Reading YAML input files safely, with bounded work and user-facing errors that say where.

- Only YAML's safe types are built (PyYAML's ``SafeLoader``): no Python objects.
- A key written twice in one mapping is an error naming both lines (YAML 1.2 requires unique keys;
  PyYAML would silently keep the last value, e.g. a second ``datasets:`` block dropping the first).
- Aliases are bounded: the document's size with every alias expanded may not exceed
  :data:`MAX_NODES` nodes (the "billion laughs" document is a few lines but 10^9 nodes expanded),
  and nesting may not exceed :data:`MAX_DEPTH` levels.
- Files larger than :data:`MAX_BYTES` are refused before parsing.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from dossier.errors import SpecError

#: the most nodes a document may hold with its aliases expanded (a study spec holds a few hundred)
MAX_NODES = 200_000
#: the deepest nesting of mappings/sequences accepted (a study spec nests about 6 levels)
MAX_DEPTH = 64
#: the largest YAML file accepted
MAX_BYTES = 16 << 20


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                try:
                    key = self.construct_object(key_node, deep=True)
                    hash(key)
                except TypeError:
                    continue  # unhashable keys are reported by the constructor itself
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _Duplicate(key, seen[key], line)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _Duplicate(Exception):
    def __init__(self, key: Any, first: int, second: int):
        self.key, self.first, self.second = key, first, second


def _measure(node: yaml.Node, depth: int, memo: dict[int, int]) -> int:
    """Size of the node with aliases expanded (memoised per node, so the count itself is cheap)."""
    if depth > MAX_DEPTH:
        raise _TooDeep(node)
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_measure(k, depth + 1, memo) + _measure(v, depth + 1, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_measure(v, depth + 1, memo) for v in node.value)
    else:
        size = 1
    memo[key] = size
    if size > MAX_NODES:
        raise _TooBig(node, size)
    return size


class _TooDeep(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, size: int):
        self.node, self.size = node, size


_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
         yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _check_depth(text: str) -> None:
    """Nesting depth from the token stream (linear, no recursion), before the recursive composer runs."""
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH + 1:
                raise _TooDeep(token)
        elif isinstance(token, _CLOSE):
            depth -= 1


def parse_yaml(text: str, shown: str, what: str = "file") -> Any:
    """The parsed content of YAML text; a SpecError naming ``shown`` and the line when it is refused."""
    loader = _Loader(text)
    try:
        _check_depth(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, 0, {})
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise SpecError(f"the {what} is not valid YAML: {getattr(err, 'problem', None) or err}", where=where,
                        hint="check indentation and quoting at that line") from None
    except _Duplicate as dup:
        raise SpecError(f"the {what} sets key {dup.key!r} twice (lines {dup.first} and {dup.second})",
                        where=f"{shown}:{dup.second}",
                        hint="YAML keys must be unique in each mapping; merge the two entries into one") from None
    except _TooDeep as err:
        raise SpecError(f"the {what} nests deeper than {MAX_DEPTH} levels", where=f"{shown}:"
                        f"{err.node.start_mark.line + 1}", hint="a study spec nests a few levels; check the file") from None
    except _TooBig as err:
        raise SpecError(f"the {what} expands to over {MAX_NODES:,} values (its aliases `*name` repeat large "
                        f"blocks)", where=f"{shown}:{err.node.start_mark.line + 1}",
                        hint="write the values out instead of nesting aliases of aliases") from None
    except RecursionError:
        raise SpecError(f"the {what} nests too deeply to be read", where=shown,
                        hint=f"a study spec nests a few levels (at most {MAX_DEPTH})") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path, what: str, missing_hint: str) -> Any:
    """The parsed content of a YAML file; a SpecError naming the file (and line) when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{what} not found: {path}", where=str(path), hint=missing_hint)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"the {what} is not a regular file", where=str(path), hint=missing_hint)
        if st.st_size > MAX_BYTES:
            raise SpecError(f"the {what} is {st.st_size:,} bytes; at most {MAX_BYTES:,} are read", where=str(path),
                            hint="a study spec is a few kilobytes; check the path")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"the {what} is not UTF-8 text", where=str(path), hint="save the file as UTF-8") from None
    except OSError as err:
        raise SpecError(f"cannot read the {what}: {err.strerror or err}", where=str(path),
                        hint="check the file exists and is readable") from None
    return parse_yaml(text, str(path), what)
