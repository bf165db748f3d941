"""`q2c connectors check|map`: validate mapping files; show what a native payload becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from engine.connectors.mapping import MappingError, load_mapping
from engine.connectors.protocol import NativeRequest, Unmapped
from engine.connectors.registry import (
    CONNECTORS,
    MAPPING_NAMES,
    load_mappings,
    mapping_path,
    translate_request,
)
from engine.connectors.settings import ConnectorSettings

app = typer.Typer(help="Platform connector mappings: check them, try them.", no_args_is_help=True)
# Mappings applied to another platform's native events (Certinia rides on Salesforce CDC).
CARRIER = {"certinia": "salesforce"}
# A saved CloudEvent is the structured form unless ce-* headers say binary mode.
JSON_CONTENT_TYPE = {"sap": "application/cloudevents+json"}
PATHS = typer.Argument(None, help="mapping files or folders (default: all in use)")
PLATFORM = typer.Argument(..., help=f"one of {', '.join(MAPPING_NAMES)}")
PAYLOAD = typer.Argument(..., help="native payload (JSON or XML), as the platform sends it")
ROUTE = typer.Option(None, help="gateway route (default: the platform's first)")
HEADERS = typer.Option([], "--header", help="HTTP header NAME:VALUE (e.g. ce-type:...)")
MAPPING = typer.Option(None, help="mapping file to use instead of the configured one")


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out += sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return out


@app.command()
def check(
    paths: list[Path] = PATHS,
) -> None:
    """Validate mapping files: shape, field paths, canonical fields (file:line: field: message)."""
    settings = ConnectorSettings()
    files = _files(paths) if paths else [mapping_path(n, settings) for n in MAPPING_NAMES]
    if not files:
        typer.echo("no mapping files found", err=True)
        raise typer.Exit(1)
    failed = 0
    for file in files:
        try:
            mapping = load_mapping(file)
        except MappingError as exc:
            failed += 1
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            continue
        typer.echo(f"ok: {file} ({mapping.platform}, {len(mapping.rules)} rules)")
    if failed:
        typer.echo(f"{failed} of {len(files)} mapping file(s) invalid", err=True)
        raise typer.Exit(1)


@app.command("map")
def map_payload(
    platform: str = PLATFORM,
    payload: Path = PAYLOAD,
    route: str = ROUTE,
    header: list[str] = HEADERS,
    mapping: Path = MAPPING,
) -> None:
    """Print the canonical events a native payload becomes, or why it becomes none."""
    carrier = CARRIER.get(platform, platform)
    connector = CONNECTORS.get(carrier)
    if connector is None:
        typer.echo(f"unknown platform {platform!r}; known: {', '.join(MAPPING_NAMES)}", err=True)
        raise typer.Exit(2)
    try:
        body = payload.read_bytes()
    except OSError as exc:
        typer.echo(f"cannot read {payload}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    try:
        mappings = load_mappings(ConnectorSettings())
        if mapping is not None:
            chosen = load_mapping(mapping)
            mappings[chosen.platform] = chosen
    except MappingError as exc:
        typer.echo(f"mapping error:\n{exc}", err=True)
        raise typer.Exit(2) from None
    content_type = JSON_CONTENT_TYPE.get(platform, "application/json")
    binary = any(h.lower().startswith("ce-") for h in header)
    if payload.suffix == ".xml":
        content_type = "application/xml"
    elif binary:
        content_type = "application/json"
    headers = {"content-type": content_type}
    for item in header:
        key, sep, value = item.partition(":")
        if not sep:
            typer.echo(f"--header {item!r} is not NAME:VALUE", err=True)
            raise typer.Exit(2)
        headers[key.strip().lower()] = value.strip()
    request = NativeRequest(
        carrier, route or connector.routes[0].path, body, headers, datetime.now(UTC)
    )
    result = translate_request(request, mappings)
    if isinstance(result, Unmapped):
        typer.echo(f"unmapped: {result.reason} (field {result.field_path})", err=True)
        raise typer.Exit(1)
    if not result:
        typer.echo("no canonical event: the payload is recognised and needs none")
        return
    for event in result:
        typer.echo(json.dumps(json.loads(event.model_dump_json()), indent=2))
