"""The config file as a source: YAML with positions, problems located in it, suggestions.

A ``Loc`` is a path inside the document as pydantic spells it (``("models", 2, "fallbacks", 0)``);
``render_path`` writes it as ``models[2].fallbacks[0]``, and ``line_of`` finds the line of that
node in the YAML text (the line of the key, for a mapping entry).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml

Loc = tuple[str | int, ...]


def render_path(loc: Sequence[str | int]) -> str:
    """``models[2].fallbacks[0]``; a key with a dot in it is quoted: ``parameters['model.top_k']``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part:
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, at ``loc`` in the document (``()``: the file as a whole).

    ``line`` and ``column`` are 1-based positions in the file, when known.
    """

    loc: Loc
    message: str
    line: int | None = None
    column: int | None = None
    warning: bool = False
    """A warning is reported but does not stop the gateway from serving (the rest of the file works)."""

    def render(self, source: str) -> str:
        """``gateway.yaml:12: models[2].model: unknown provider 'opnai' (did you mean 'openai'?)``;
        a warning's message starts with ``warning:``."""
        where = source
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        path = render_path(self.loc)
        message = f"warning: {self.message}" if self.warning else self.message
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"


def did_you_mean(word: str, candidates: Iterable[str], listing: str = "") -> str:
    """`` (did you mean 'x'?)`` for the nearest candidate; otherwise `` (<listing>: a, b)``, or nothing
    when ``listing`` is empty or there are no candidates."""
    names = sorted(set(candidates))
    close = difflib.get_close_matches(word, names, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" ({listing}: {', '.join(names)})" if listing and names else ""


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's data (as ``yaml.safe_load`` gives it) and its node tree, from one parse.

    Raises ``yaml.YAMLError``; ``yaml_problem`` turns it into a located problem.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem = f"{context} at line {context_mark.line + 1}: {problem}"
    if mark is None:
        return Problem((), f"invalid YAML: {problem}")
    return Problem((), f"invalid YAML: {problem}", mark.line + 1, mark.column + 1)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(the node whose line marks ``part``, the node of its value), or ``None`` if absent."""
    if isinstance(node, yaml.MappingNode):
        found = [(key, value) for key, value in node.value if getattr(key, "value", None) == str(part)]
        return found[-1] if found else None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return item, item
    return None


def line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of ``loc`` in the tree; the deepest ancestor found when ``loc`` is not there."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        marker, node = child
        line = marker.start_mark.line + 1
    return line


def located(problems: Iterable[Problem], node: yaml.Node | None) -> list[Problem]:
    """``problems`` with their lines filled in from ``node``, in file order (problems of the whole
    file first), each once."""
    filled = (p if p.line is not None else replace(p, line=line_of(node, p.loc)) for p in problems)
    return sorted(dict.fromkeys(filled), key=lambda p: p.line or 0)


def report_text(source: str, problems: Sequence[Problem]) -> str:
    """Every problem on its own line, then ``<source>: N problem(s)`` (and ``, M warning(s)``)."""
    warnings = sum(1 for p in problems if p.warning)
    count = f"{source}: {len(problems) - warnings} problem(s)" + (f", {warnings} warning(s)" if warnings else "")
    return "\n".join([*(p.render(source) for p in problems), count])
