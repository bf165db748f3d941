"""`q2c acls plan|apply|matrix`: least-privilege ACLs from the topic catalog and principals file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.kafka.connection import NoBrokerError
from engine.security.acl_admin import AclAdminError, acl_client, apply_acls, observe_acls
from engine.security.acls import AclContext, AclPlan, desired_acls, matrix, plan_acls
from engine.security.principals import Principals, PrincipalsError, load_principals
from engine.settings import Settings, SettingsError, load_settings
from engine.topics import Catalog, CatalogError, load_catalog

app = typer.Typer(
    help="Plan and apply Kafka ACLs derived from topics/catalog.yaml and topics/principals.yaml.",
    no_args_is_help=True,
)
PRINCIPALS_OPTION = typer.Option(None, "--principals", help="default topics/principals.yaml")
CATALOG_OPTION = typer.Option(None, "--catalog", help="default topics/catalog.yaml")


def _inputs(catalog: Path | None, principals: Path | None) -> tuple[Catalog, Principals]:
    try:
        return load_catalog(catalog), load_principals(principals)
    except (CatalogError, PrincipalsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def acl_context(settings: Settings) -> AclContext:
    """The deployment's ACL names from the settings (also what `topics export` grants)."""
    return AclContext(settings.topic_prefix, settings.group_id, settings.client_id)


async def _plan(catalog: Catalog, principals: Principals, *, apply: bool) -> AclPlan:
    settings = load_settings()
    ctx = acl_context(settings)
    desired = desired_acls(catalog, principals, ctx)
    managed = {p.kafka_principal for p in principals.principals}
    async with acl_client(settings) as client:
        plan = plan_acls(desired, await observe_acls(client), managed, ctx)
        if apply:
            await apply_acls(client, plan)
    return plan


def _execute(catalog: Catalog, principals: Principals, *, apply: bool) -> AclPlan:
    try:
        return asyncio.run(_plan(catalog, principals, apply=apply))
    except (SettingsError, NoBrokerError, AclAdminError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def diff_lines(plan: AclPlan) -> list[str]:
    """`+ grant` and `- revoke` lines (or `no drift`), then a note on the ACLs left alone."""
    lines = [f"+ {a.describe()}" for a in plan.grants]
    lines += [f"- {a.describe()}" for a in plan.revokes]
    if not lines:
        lines.append("no drift")
    if plan.unmanaged:
        lines.append(
            f"(left alone: {len(plan.unmanaged)} ACLs of other principals or other "
            "deployments' topics and groups)"
        )
    return lines


def _show(plan: AclPlan, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2))
        return
    for line in diff_lines(plan):
        typer.echo(line)


@app.command()
def plan(
    as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
    catalog: Path | None = CATALOG_OPTION,
    principals: Path | None = PRINCIPALS_OPTION,
) -> None:
    """Show the grants and revocations `apply` would make; exit 0 when there are none, else 1."""
    result = _execute(*_inputs(catalog, principals), apply=False)
    _show(result, as_json)
    if not result.is_empty:
        raise typer.Exit(1)


@app.command("apply")
def apply_cmd(
    yes: bool = typer.Option(False, "--yes", help="apply grants (widening access) too"),
    catalog: Path | None = CATALOG_OPTION,
    principals: Path | None = PRINCIPALS_OPTION,
) -> None:
    """Apply the plan. Grants widen access, so they need --yes; revokes only narrow it."""
    loaded = _inputs(catalog, principals)
    preview = _execute(*loaded, apply=False)
    _show(preview, False)
    if preview.is_empty:
        return
    if preview.grants and not yes:
        typer.echo(
            f"{len(preview.grants)} grants widen access: nothing applied; re-run with --yes",
            err=True,
        )
        raise typer.Exit(1)
    done = _execute(*loaded, apply=True)
    typer.echo(f"applied: {len(done.grants)} granted, {len(done.revokes)} revoked")


@app.command("matrix")
def matrix_cmd(
    catalog: Path | None = CATALOG_OPTION, principals: Path | None = PRINCIPALS_OPTION
) -> None:
    """Print who may do what (no broker needed), under the configured prefix and group."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    desired = desired_acls(*_inputs(catalog, principals), acl_context(settings))
    table = Table(title=f"ACL matrix ({len(desired)} bindings, all ALLOW; the rest is denied)")
    for column in ("principal", "operation", "resources"):
        table.add_column(column)
    for row in matrix(desired):
        table.add_row(*row)
    Console(width=200).print(table)
