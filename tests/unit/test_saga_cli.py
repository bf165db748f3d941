"""`q2c sagas list|graph`: output generated from the definitions."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.saga.render import edges
from engine.sagas import SAGAS

runner = CliRunner()


def test_list_shows_every_saga_with_states_and_description() -> None:
    result = runner.invoke(app, ["sagas", "list"])
    assert result.exit_code == 0, result.output
    for definition in SAGAS.values():
        assert definition.name in result.output
        assert definition.description in result.output
        for state in definition.states:
            assert state in result.output


@pytest.mark.parametrize("name", sorted(SAGAS))
def test_mermaid_graph_has_every_declared_transition(name: str) -> None:
    result = runner.invoke(app, ["sagas", "graph", name, "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "stateDiagram-v2"
    for t in SAGAS[name].transitions:
        for source in t.sources:
            for target in t.targets:
                assert f"    {source} --> {target} : {t.label}" in lines
    for state in SAGAS[name].terminal:
        assert f"    {state} --> [*]" in lines


@pytest.mark.parametrize("name", sorted(SAGAS))
def test_dot_graph_has_every_declared_transition(name: str) -> None:
    result = runner.invoke(app, ["sagas", "graph", name, "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f'digraph "{name}" {{')
    for source, target, label in edges(SAGAS[name]):
        assert f'    "{source}" -> "{target}" [label="{label}"];' in result.output.splitlines()
    assert len(edges(SAGAS[name])) == sum(
        len(t.sources) * len(t.targets) for t in SAGAS[name].transitions
    )


def test_unknown_saga_is_an_error() -> None:
    result = runner.invoke(app, ["sagas", "graph", "nope"])
    assert result.exit_code == 2
