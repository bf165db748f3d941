"""`q2c kafka start|stop|status|kill-node|start-node`: the local KRaft broker."""

from __future__ import annotations

import time

import typer

from engine.localkafka import LocalKafkaError, load_cluster, start_cluster

app = typer.Typer(
    help="Start, stop and inspect the local Apache Kafka (KRaft) broker.", no_args_is_help=True
)


@app.command()
def start(
    nodes: int = typer.Option(1, help="1 for a single broker, 3 for a fault-test cluster"),
    name: str = typer.Option("default", help="cluster name (several can run side by side)"),
    timeout: float = typer.Option(120.0, help="seconds to wait for the broker to answer"),
) -> None:
    """Start a local broker (fetching the jars with Maven on first use) and print its address."""
    began = time.monotonic()
    try:
        cluster = start_cluster(nodes, name=name, timeout_s=timeout)
    except LocalKafkaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(cluster.bootstrap_servers)
    typer.echo(f"ready in {time.monotonic() - began:.1f}s", err=True)


@app.command()
def status(name: str = typer.Option("default")) -> None:
    """Print the bootstrap address; exit 1 when no broker of that name runs."""
    cluster = load_cluster(name)
    running = cluster.running_nodes() if cluster else []
    if cluster is None or not running:
        typer.echo(f"no local broker {name!r} is running", err=True)
        raise typer.Exit(1)
    typer.echo(cluster.bootstrap_servers)
    if len(running) != len(cluster.nodes):
        typer.echo(f"nodes running: {sorted(running)} of {len(cluster.nodes)}", err=True)


@app.command()
def stop(
    name: str = typer.Option("default"),
    purge: bool = typer.Option(False, help="also delete the broker's data"),
) -> None:
    """Stop every node of the local broker by its pid."""
    cluster = load_cluster(name)
    if cluster is None:
        typer.echo(f"no local broker {name!r}: nothing to stop", err=True)
        return
    if not cluster.running_nodes() and not purge:
        typer.echo(f"local broker {name!r} is not running: nothing to stop", err=True)
        return
    if purge:
        cluster.destroy()
    else:
        cluster.stop()
    typer.echo("stopped")


@app.command("stop-node")
def stop_node(
    node_id: int,
    name: str = typer.Option("default"),
    kill: bool = typer.Option(False, help="SIGKILL instead of a controlled shutdown"),
) -> None:
    """Stop (or kill) one node of a local cluster, for fault tests."""
    cluster = load_cluster(name)
    if cluster is None:
        typer.echo(f"no local broker {name!r}", err=True)
        raise typer.Exit(1)
    cluster.stop_node(node_id, kill=kill)


@app.command("start-node")
def start_node(node_id: int, name: str = typer.Option("default")) -> None:
    """Start a stopped node of a local cluster again."""
    cluster = load_cluster(name)
    if cluster is None:
        typer.echo(f"no local broker {name!r}", err=True)
        raise typer.Exit(1)
    cluster.start_node(node_id)
    cluster.wait_ready()
