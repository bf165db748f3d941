"""`q2c topics plan|apply|list|export`: the declarative topic catalog against the configured cluster."""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from engine.cli.acls import acl_context
from engine.cli.errors import BadInput, ExitCode
from engine.cli.preflight import check_broker
from engine.codec.store import SchemaStore
from engine.security.acls import desired_acls
from engine.security.principals import PrincipalsError, load_principals
from engine.settings import Settings, load_settings
from engine.topics import (
    Catalog,
    Plan,
    apply_plan,
    load_catalog,
    plan_cluster,
)
from engine.topics.asyncapi import asyncapi_document
from engine.topics.cluster import admin_client
from engine.topics.strimzi import Authentication, kafka_topics, kafka_user
from engine.version import package_version

app = typer.Typer(
    help="Plan and apply the topic catalog (topics/catalog.yaml) on the Kafka cluster.",
    no_args_is_help=True,
)

CATALOG_OPTION = typer.Option(None, "--catalog", help="catalog file (default topics/catalog.yaml)")


def _console() -> Console:
    # Wide enough that topic names and refusal messages are not cut in CI logs.
    return Console(width=160)


def _load(path: Path | None) -> Catalog:
    # A CatalogError ends as one line, exit 2 (engine.cli.errors).
    return load_catalog(path)


def plan_table(plan: Plan) -> Table:
    """One row per difference: action, topic, what changes."""
    table = Table(title="topic plan", show_lines=False)
    table.add_column("action")
    table.add_column("topic")
    table.add_column("change")
    for c in plan.creations:
        configs = ", ".join(f"{k}={v}" for k, v in c.configs.items())
        detail = f"partitions={c.partitions} rf={c.replication_factor} {configs}"
        table.add_row("[green]create[/]", c.name, detail)
    for a in plan.alterations:
        detail = "; ".join(f"{d.key}: {d.current} -> {d.desired}" for d in a.drifts)
        table.add_row("[yellow]alter[/]", a.name, detail)
    for i in plan.increases:
        table.add_row("[cyan]partitions[/]", i.name, f"{i.current} -> {i.desired}")
    for r in plan.refusals:
        table.add_row("[red]refused[/]", r.name, r.reason)
    return table


async def _run(catalog: Catalog, *, apply: bool) -> Plan:
    settings = load_settings()
    async with admin_client(settings) as admin:
        plan = await plan_cluster(admin, catalog, settings.topic_prefix)
        if apply:
            await apply_plan(admin, plan)
    return plan


def _execute(catalog: Catalog, *, apply: bool) -> Plan:
    check_broker(load_settings())
    return asyncio.run(_run(catalog, apply=apply))


@app.command()
def plan(
    as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
    catalog: Path | None = CATALOG_OPTION,
) -> None:
    """Show what `apply` would change; exit 0 ("no drift") when nothing, 4 on drift, 1 on refusals."""
    result = _execute(_load(catalog), apply=False)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif result.is_empty:
        typer.echo("no drift")
    else:
        _console().print(plan_table(result))
    if result.refusals:
        raise typer.Exit(ExitCode.FAILED)
    if not result.is_empty:
        raise typer.Exit(ExitCode.DRIFT)


@app.command("apply")
def apply_cmd(
    catalog: Path | None = CATALOG_OPTION,
    as_json: bool = typer.Option(False, "--json", help="print what was applied as JSON"),
) -> None:
    """Create missing topics, fix drifted configs, add partitions; exit 1 on refusals."""
    result = _execute(_load(catalog), apply=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        raise typer.Exit(ExitCode.FAILED if result.refusals else ExitCode.OK)
    if result.is_empty:
        typer.echo("no drift: nothing to apply")
        return
    console = _console()
    console.print(plan_table(result))
    console.print(
        f"applied: {len(result.creations)} created, {len(result.alterations)} altered, "
        f"{len(result.increases)} grown"
    )
    if result.refusals:
        for r in result.refusals:
            typer.echo(f"refused {r.name}: {r.reason}", err=True)
        raise typer.Exit(1)


@app.command("list")
def list_cmd(catalog: Path | None = CATALOG_OPTION) -> None:
    """Print the catalog as a table (logical names, without the topic prefix)."""
    loaded = _load(catalog)
    table = Table(title=f"topic catalog ({len(loaded.topics)} topics)")
    for column in ("name", "partitions", "rf", "cleanup", "retention.ms", "key", "owner"):
        table.add_column(column)
    for t in loaded.topics:
        retention = "-" if t.retention_ms is None else str(t.retention_ms)
        table.add_row(
            t.name,
            str(t.partitions),
            str(t.replication_factor),
            t.cleanup_policy.value,
            retention,
            t.key,
            t.owner,
        )
    _console().print(table)


class ExportFormat(StrEnum):
    """What `q2c topics export` writes."""

    STRIMZI = "strimzi"
    ASYNCAPI = "asyncapi"


def strimzi_resources(
    catalog: Catalog,
    settings: Settings,
    *,
    principals: Path | None,
    cluster: str,
    authentication: Authentication,
    namespace: str | None,
) -> list[dict[str, Any]]:
    """A `KafkaTopic` per catalog entry, then a `KafkaUser` per principal carrying the ACLs
    `q2c acls plan` would grant it (same planner, same prefix, group and client id)."""
    try:
        loaded = load_principals(principals)
    except PrincipalsError as exc:
        raise BadInput(str(exc)) from None
    bindings = desired_acls(catalog, loaded, acl_context(settings))
    topics = kafka_topics(
        catalog, prefix=settings.topic_prefix, cluster=cluster, namespace=namespace
    )
    users = [
        kafka_user(p, bindings, cluster=cluster, authentication=authentication, namespace=namespace)
        for p in loaded.principals
    ]
    return [*topics, *users]


@app.command("export")
def export_cmd(
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", help="strimzi: KafkaTopic and KafkaUser resources"),
    ],
    cluster: Annotated[
        str, typer.Option(help="Strimzi Kafka cluster name (strimzi.io/cluster label)")
    ] = "q2c",
    namespace: Annotated[
        str | None, typer.Option(help="metadata.namespace of every resource")
    ] = None,
    authentication: Annotated[
        Authentication, typer.Option(help="strimzi: how the KafkaUsers authenticate")
    ] = Authentication.SCRAM_SHA_512,
    principals: Annotated[
        Path | None,
        typer.Option("--principals", help="strimzi: default topics/principals.yaml"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default stdout)")
    ] = None,
    catalog: Path | None = CATALOG_OPTION,
) -> None:
    """Write the catalog for another tool; topic names get Q2C_TOPIC_PREFIX."""
    loaded = _load(catalog)
    settings = load_settings()  # a bad setting: one line, exit 2 (GuardedTyper)
    if fmt is ExportFormat.STRIMZI:
        resources = strimzi_resources(
            loaded,
            settings,
            principals=principals,
            cluster=cluster,
            authentication=authentication,
            namespace=namespace,
        )
        text = yaml.safe_dump_all(resources, sort_keys=False)
        users = sum(r["kind"] == "KafkaUser" for r in resources)
        what = (
            f"{len(resources)} strimzi resources ({len(resources) - users} topics, {users} users)"
        )
    else:
        document = asyncapi_document(
            loaded, SchemaStore(), prefix=settings.topic_prefix, version=package_version()
        )
        text = yaml.safe_dump(document, sort_keys=False)
        what = f"an asyncapi document with {len(document['channels'])} channels"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {what} to {output}", err=True)
