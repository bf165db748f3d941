"""`q2c kafka start|stop|status|stop-node|start-node`: the local KRaft broker; `q2c kafka tool`."""

from __future__ import annotations

import shutil
import subprocess
import time

import typer

from engine.localkafka import LocalKafkaError, load_cluster, start_cluster
from engine.localkafka.secure import client_env
from engine.security.principals import LAUNCHER_USER

app = typer.Typer(
    help="Start, stop and inspect the local Apache Kafka (KRaft) broker.", no_args_is_help=True
)


@app.command()
def start(
    nodes: int = typer.Option(1, help="1 for a single broker, 3 for a fault-test cluster"),
    name: str = typer.Option("default", help="cluster name (several can run side by side)"),
    timeout: float = typer.Option(120.0, help="seconds to wait for the broker to answer"),
    secure: bool = typer.Option(
        False, help="TLS + SASL/SCRAM-SHA-512 + ACLs (deny unless allowed); prints client settings"
    ),
) -> None:
    """Start a local broker (fetching the jars with Maven on first use) and print its address.

    With --secure it prints, as `export` lines, the settings of the launcher's super user
    (to run `q2c topics apply` and `q2c acls apply`), and where each principal's password is.
    """
    began = time.monotonic()
    try:
        cluster = start_cluster(nodes, name=name, timeout_s=timeout, secure=secure)
    except LocalKafkaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    layout = cluster.security
    if layout is None:
        typer.echo(cluster.bootstrap_servers)
    else:
        for key, value in client_env(layout, cluster.bootstrap_servers, LAUNCHER_USER).items():
            typer.echo(f"export {key}={value}")
        typer.echo(
            "# components connect as their own principal: same settings, with\n"
            "# Q2C_SASL_USERNAME=<user> and Q2C_SASL_PASSWORD_FILE=<file> from:"
        )
        for user in layout.users():
            if user != LAUNCHER_USER:
                typer.echo(f"#   {user}: {layout.password_file(user)}")
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


@app.command(
    "tool",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def tool(
    ctx: typer.Context,
    tool_name: str = typer.Argument(..., metavar="NAME", help="e.g. kafka-consumer-groups"),
) -> None:
    """Run one of Kafka's operator tools (NAME ARGS... as `bin/NAME.sh ARGS...`); its exit code.

    `--bootstrap-server` defaults to q2c's cluster (Q2C_BOOTSTRAP_SERVERS or the local broker).
    Lag note: on partitions written transactionally the end offset counts each commit marker,
    so external monitors (kafka-consumer-groups --describe, Burrow) show lag 1 per partition
    while q2c's `q2c_consumer_lag_records` reads 0.
    """
    from engine.kafka.connection import NoBrokerError, resolve_bootstrap
    from engine.localkafka.jars import JarFetchError, ensure_jars
    from engine.localkafka.tools import UnknownTool, tool_argv
    from engine.settings import SettingsError, load_settings

    java = shutil.which("java")
    try:
        if java is None:
            raise JarFetchError("java is not on PATH: Kafka's tools need Java 17+")
        try:
            bootstrap: str | None = resolve_bootstrap(load_settings())
        except NoBrokerError:
            bootstrap = None  # the tool reports the missing --bootstrap-server itself
        argv = tool_argv(
            tool_name, list(ctx.args), java=java, jars=ensure_jars(), bootstrap=bootstrap
        )
    except (UnknownTool, JarFetchError, SettingsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(subprocess.run(argv, check=False).returncode)
