"""Diagrams of a saga definition (Mermaid state diagram, Graphviz DOT), generated from data."""

from __future__ import annotations

import json

from engine.saga.definition import SagaDefinition
from engine.saga.model import PENDING


def edges(definition: SagaDefinition) -> list[tuple[str, str, str]]:
    """Every declared (source, target, label) edge, in declaration order, without repeats."""
    seen: dict[tuple[str, str, str], None] = {}
    for t in definition.transitions:
        for source in t.sources:
            for target in t.targets:
                seen.setdefault((source, target, t.label), None)
    return list(seen)


def to_mermaid(definition: SagaDefinition) -> str:
    """A Mermaid `stateDiagram-v2` of the definition."""
    lines = ["stateDiagram-v2", f"    [*] --> {PENDING}"]
    lines += [f"    {s} --> {t} : {label}" for s, t, label in edges(definition)]
    lines += [f"    {state} --> [*]" for state in definition.terminal]
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    # JSON string quoting is valid DOT ID quoting for the characters used here.
    return json.dumps(text)


def to_dot(definition: SagaDefinition) -> str:
    """A Graphviz DOT digraph of the definition (terminal states double-circled)."""
    lines = [
        f"digraph {_q(definition.name)} {{",
        "    rankdir=LR;",
        "    node [shape=box, style=rounded];",
        '    "__start" [shape=point];',
        f'    "__start" -> {_q(PENDING)};',
    ]
    lines += [f"    {_q(state)} [peripheries=2];" for state in definition.terminal]
    lines += [f"    {_q(s)} -> {_q(t)} [label={_q(label)}];" for s, t, label in edges(definition)]
    lines.append("}")
    return "\n".join(lines) + "\n"
