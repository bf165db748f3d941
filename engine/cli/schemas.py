"""`q2c schemas check|list`: the Avro contracts parse and stay compatible with their history."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.codec.compat import Direction, check_store, required_compatibility
from engine.codec.errors import SchemaStoreError
from engine.codec.store import SchemaStore
from engine.paths import SCHEMAS_DIR
from engine.topics.loader import CatalogError, load_catalog
from engine.topics.models import Compatibility

app = typer.Typer(
    help="Check and list the Avro contract schemas (schemas/*.avsc).", no_args_is_help=True
)

ROOT_OPTION = typer.Option(SCHEMAS_DIR, "--root", help="schema folder (with history/<version>/)")
CATALOG_OPTION = typer.Option(
    None, "--catalog", help="topic catalog naming each topic's compatibility (default topics/)"
)
HINTS = {
    Direction.BACKWARD: "Readers must read old records: give new fields a default, only promote "
    "types (int->long->float->double, string<->bytes), keep enum symbols.",
    Direction.FORWARD: "Consumers pinned to an older schema must read new records (topics with "
    "compatibility: full): remove only fields that had a default, add enum symbols only when "
    "the enum has a default, do not promote types.",
}


def _load(root: Path, console: Console) -> SchemaStore:
    try:
        store = SchemaStore(root)
    except SchemaStoreError as exc:
        console.print(f"[red]schema error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    if not store.current.entries:
        # A check over nothing passes vacuously: an install without its schemas must not.
        typer.echo(f"no Avro schemas (*.avsc) in {root}", err=True)
        raise typer.Exit(1)
    return store


def _table(store: SchemaStore) -> Table:
    table = Table(title=f"Avro schemas in {store.root}")
    table.add_column("type")
    table.add_column("fingerprint (CRC-64-AVRO)")
    table.add_column("kind")
    table.add_column("history")
    for name, entry in sorted(store.current.entries.items()):
        releases = [v for v, s in store.history.items() if name in s.entries]
        changed = [
            v for v in releases if store.history[v].entries[name].fingerprint != entry.fingerprint
        ]
        note = ", ".join(f"{v}*" if v in changed else v for v in releases) or "new"
        table.add_row(
            name, entry.fingerprint_hex, str(store.current.definitions[name]["type"]), note
        )
    return table


@app.command("list")
def list_schemas(root: Path = ROOT_OPTION) -> None:
    """List every current schema with its fingerprint (`*` = differs from that release)."""
    console = Console()
    console.print(_table(_load(root, console)))


@app.command()
def check(
    root: Path = ROOT_OPTION,
    catalog: Path | None = CATALOG_OPTION,
    quiet: bool = typer.Option(False, help="no table"),
) -> None:
    """Every schema parses and is compatible with every release in history/; exit 1 if not.

    Backward for every type; full (backward and forward) for types written to a topic whose
    catalog entry has `compatibility: full` (the default).
    """
    console = Console(soft_wrap=True)
    store = _load(root, console)
    try:
        topics = load_catalog(catalog).topics
    except CatalogError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    required = required_compatibility((t.compatibility, t.value_schemas) for t in topics)
    if not quiet:
        console.print(_table(store))
    if not store.history:
        console.print("[yellow]no releases in history/: nothing to compare against[/yellow]")
    problems = check_store(store, required)
    if problems:
        err = Console(stderr=True, soft_wrap=True)
        err.print(f"[red]{len(problems)} incompatible change(s):[/red]")
        for problem in problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        for direction in sorted({p.direction for p in problems}):
            err.print(HINTS[direction], markup=False)
        raise typer.Exit(1)
    versions = ", ".join(store.history) or "none"
    full = sum(1 for c in required.values() if c is Compatibility.FULL)
    console.print(
        f"[green]ok[/green]: {len(store.current.entries)} schemas parse; compatible with "
        f"{versions} ({full} fully, the rest backward)"
    )
