"""`q2c schemas check|list`: the Avro contracts parse and stay backward compatible."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.codec.compat import check_store
from engine.codec.errors import SchemaStoreError
from engine.codec.store import SchemaStore
from engine.paths import SCHEMAS_DIR

app = typer.Typer(
    help="Check and list the Avro contract schemas (schemas/*.avsc).", no_args_is_help=True
)

ROOT_OPTION = typer.Option(SCHEMAS_DIR, "--root", help="schema folder (with history/<version>/)")


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
def check(root: Path = ROOT_OPTION, quiet: bool = typer.Option(False, help="no table")) -> None:
    """Every schema parses and reads every release in history/; exit 1 on an incompatibility."""
    console = Console(soft_wrap=True)
    store = _load(root, console)
    if not quiet:
        console.print(_table(store))
    if not store.history:
        console.print("[yellow]no releases in history/: nothing to compare against[/yellow]")
    problems = check_store(store)
    if problems:
        err = Console(stderr=True, soft_wrap=True)
        err.print(f"[red]{len(problems)} backward-incompatible change(s):[/red]")
        for problem in problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        err.print(
            "Readers must read old records: give new fields a default, only promote types "
            "(int->long->float->double, string<->bytes), keep enum symbols.",
            markup=False,
        )
        raise typer.Exit(1)
    versions = ", ".join(store.history) or "none"
    console.print(
        f"[green]ok[/green]: {len(store.current.entries)} schemas parse; compatible with {versions}"
    )
