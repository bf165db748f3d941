"""Starts, inspects and stops a local KRaft cluster (1 or 3 nodes) as JVM child processes.

State (ports, pids, log dirs) lives in `<home>/<name>/cluster.json`, so `q2c kafka status`
and `stop` work from another process than the one that started the broker.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.localkafka.config import NodeSpec, server_properties
from engine.localkafka.jars import ensure_jars
from engine.localkafka.probe import broker_answers_metadata
from engine.localkafka.secure import (
    SecureLayout,
    create_material,
    launcher_options,
    scram_format_args,
    secure_overrides,
)
from engine.paths import KAFKA_DEPLOY_DIR, runtime_home
from engine.security.principals import load_principals

JVM_HEAP = ["-Xms256m", "-Xmx512m"]
# Two cores: a serial GC and a capped processor count keep the JVM from crowding the engine.
JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:ActiveProcessorCount=2", "-Djava.awt.headless=true"]


class LocalKafkaError(RuntimeError):
    """The local broker could not be started or reached; the message carries the log tail."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class LocalCluster:
    """A local cluster's layout and the pids of its running nodes."""

    name: str
    directory: Path
    nodes: list[NodeSpec]
    pids: dict[int, int] = field(default_factory=dict)
    secure: bool = False

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def security(self) -> SecureLayout | None:
        """TLS material and SCRAM users of a secured cluster (None when it is PLAINTEXT)."""
        return SecureLayout(self.directory / "security") if self.secure else None

    def launcher_options(self) -> dict[str, Any]:
        """Connection options of the launcher itself: its super user on a secured cluster."""
        return launcher_options(self.security) if self.security else {}

    @property
    def state_file(self) -> Path:
        return self.directory / "cluster.json"

    def node(self, node_id: int) -> NodeSpec:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise LocalKafkaError(f"cluster {self.name!r} has no node {node_id}")

    def log_file(self, node_id: int) -> Path:
        return self.directory / f"node-{node_id}.log"

    def running_nodes(self) -> list[int]:
        return [nid for nid, pid in self.pids.items() if _pid_alive(pid)]

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {
            "name": self.name,
            "nodes": [
                {
                    "node_id": n.node_id,
                    "broker_port": n.broker_port,
                    "controller_port": n.controller_port,
                    "log_dir": str(n.log_dir),
                }
                for n in self.nodes
            ],
            "pids": {str(k): v for k, v in self.pids.items()},
            "secure": self.secure,
        }
        self.state_file.write_text(json.dumps(data, indent=2))

    # -- lifecycle -------------------------------------------------------------------------

    def _classpath(self) -> str:
        return str(ensure_jars() / "*")

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").exists():
            return str(Path(java_home) / "bin" / "java")
        java = shutil.which("java")
        if java is None:
            raise LocalKafkaError("java is not on PATH: Java 17+ is needed for the local broker")
        return java

    def _format(
        self, node: NodeSpec, cluster_id: str, overrides: Mapping[str, str] | None = None
    ) -> None:
        props = self.directory / f"node-{node.node_id}.properties"
        layout = self.security
        merged = {**(secure_overrides(node, layout) if layout else {}), **(overrides or {})}
        props.write_text(server_properties(node, self.nodes, merged))
        if layout:
            os.chmod(props, 0o600)  # it holds the inter-broker SCRAM password
        if (node.log_dir / "meta.properties").exists():
            return
        proc = subprocess.run(
            [
                self._java(),
                "-Xmx256m",
                *self._log_flags(node.node_id),
                "-cp",
                self._classpath(),
                "kafka.tools.StorageTool",
                "format",
                # `=` form: a base64 id may start with "-" and must not parse as an option.
                f"--cluster-id={cluster_id}",
                f"--config={props}",
                # KRaft: SCRAM users are written into the metadata log before the first start.
                *(scram_format_args(layout) if layout else []),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise LocalKafkaError(
                f"formatting KRaft storage for node {node.node_id} failed:\n"
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )

    def _log_flags(self, node_id: int) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={KAFKA_DEPLOY_DIR / 'log4j2.properties'}",
            f"-Dq2c.log.file={self.log_file(node_id)}",
        ]

    def start_node(self, node_id: int) -> None:
        """Start one (formatted) node; returns once the JVM is spawned."""
        if node_id in self.running_nodes():
            return
        node = self.node(node_id)
        props = self.directory / f"node-{node_id}.properties"
        stdout = (self.directory / f"node-{node_id}.out").open("ab")
        proc = subprocess.Popen(
            [
                self._java(),
                *JVM_HEAP,
                *JVM_FLAGS,
                *self._log_flags(node_id),
                "-cp",
                self._classpath(),
                "kafka.Kafka",
                str(props),
            ],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the caller's terminal must not kill the broker
        )
        stdout.close()
        self.pids[node.node_id] = proc.pid
        self.save()

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until every running node answers a metadata request, or raise with log tails."""
        deadline = time.monotonic() + timeout_s
        pending = set(self.running_nodes()) or {n.node_id for n in self.nodes}
        while pending and time.monotonic() < deadline:
            for nid in sorted(pending):
                if nid not in self.running_nodes():
                    raise LocalKafkaError(
                        f"broker node {nid} exited during start-up; log tail:\n"
                        f"{_tail(self.log_file(nid))}\n{_tail(self.directory / f'node-{nid}.out')}"
                    )
                if broker_answers_metadata(
                    self.node(nid).bootstrap,
                    expected_brokers=len(pending),
                    security=self.launcher_options(),
                ):
                    pending.discard(nid)
            if pending:
                time.sleep(0.5)
        if pending:
            tails = "\n".join(f"--- node {n}:\n{_tail(self.log_file(n))}" for n in sorted(pending))
            raise LocalKafkaError(
                f"broker did not answer metadata requests within {timeout_s:.0f}s\n{tails}"
            )

    def stop_node(self, node_id: int, *, kill: bool = False, timeout_s: float = 30.0) -> None:
        """Stop one node by its pid: SIGTERM (controlled shutdown) or SIGKILL (crash)."""
        pid = self.pids.get(node_id)
        if pid is None or not _pid_alive(pid):
            self.pids.pop(node_id, None)
            self.save()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid) and time.monotonic() < deadline + 10:
                time.sleep(0.1)
        self.pids.pop(node_id, None)
        self.save()

    def pause_node(self, node_id: int) -> None:
        """Freeze one node (SIGSTOP): to its clients, a network stall."""
        self._signal_node(node_id, signal.SIGSTOP)

    def resume_node(self, node_id: int) -> None:
        """Wake a node frozen by `pause_node` (SIGCONT)."""
        self._signal_node(node_id, signal.SIGCONT)

    def _signal_node(self, node_id: int, sig: signal.Signals) -> None:
        pid = self.pids.get(node_id)
        if pid is None or not _pid_alive(pid):
            raise LocalKafkaError(f"node {node_id} of cluster {self.name!r} is not running")
        os.kill(pid, sig)

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop every node (all at once, so no controlled shutdown waits on a gone quorum)."""
        for pid in list(self.pids.values()):
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)  # a paused node cannot act on SIGTERM
                    os.kill(pid, signal.SIGTERM)
        for nid in list(self.pids):
            self.stop_node(nid, timeout_s=timeout_s)

    def destroy(self) -> None:
        """Stop every node and delete the cluster's data."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def load_cluster(name: str = "default", home: Path | None = None) -> LocalCluster | None:
    """The cluster recorded under `home/name`, or None when none was ever started there."""
    directory = (home or runtime_home()) / "kafka" / name
    state = directory / "cluster.json"
    if not state.exists():
        return None
    data = json.loads(state.read_text())
    nodes = [
        NodeSpec(
            node_id=n["node_id"],
            broker_port=n["broker_port"],
            controller_port=n["controller_port"],
            log_dir=Path(n["log_dir"]),
        )
        for n in data["nodes"]
    ]
    pids = {int(k): int(v) for k, v in data.get("pids", {}).items()}
    return LocalCluster(
        name=data["name"],
        directory=directory,
        nodes=nodes,
        pids=pids,
        secure=bool(data.get("secure", False)),
    )


def start_cluster(
    nodes: int = 1,
    *,
    name: str = "default",
    home: Path | None = None,
    timeout_s: float = 120.0,
    overrides: Mapping[str, str] | None = None,
    secure: bool = False,
    users: list[str] | None = None,
) -> LocalCluster:
    """Start (or reuse, when already running) a local KRaft cluster of 1 or 3 nodes.

    `overrides`: extra broker properties (fault tests shorten broker-side timers with them).
    `secure`: TLS + SCRAM + ACLs (engine.localkafka.secure), with a SCRAM user for each of
    `users` (default: the principals file) besides the launcher's super user.
    """
    if nodes not in (1, 3):
        raise LocalKafkaError("a local cluster has 1 node, or 3 for fault tests")
    cluster = load_cluster(name, home)
    if cluster is not None and (len(cluster.nodes) != nodes or cluster.secure != secure):
        cluster.destroy()
        cluster = None
    if cluster is None:
        directory = (home or runtime_home()) / "kafka" / name
        specs = [
            NodeSpec(
                node_id=i,
                broker_port=_free_port(),
                controller_port=_free_port(),
                log_dir=directory / f"data-{i}",
            )
            for i in range(1, nodes + 1)
        ]
        cluster = LocalCluster(name=name, directory=directory, nodes=specs, secure=secure)
        if secure:
            create_material(
                directory / "security", users if users is not None else load_principals().names
            )
        cluster.save()
    running = cluster.running_nodes()
    if len(running) == nodes:
        cluster.wait_ready(timeout_s)
        return cluster
    cluster_id = _cluster_id(cluster)
    for spec in cluster.nodes:
        cluster._format(spec, cluster_id, overrides)
    for spec in cluster.nodes:
        cluster.start_node(spec.node_id)
    try:
        cluster.wait_ready(timeout_s)
    except LocalKafkaError:
        cluster.stop()
        raise
    return cluster


def _cluster_id(cluster: LocalCluster) -> str:
    """The KRaft cluster id, kept beside the data so a restart reuses the formatted storage."""
    path = cluster.directory / "cluster-id"
    if path.exists():
        return path.read_text().strip()
    # KRaft ids are 16 random bytes, URL-safe base64 without padding (as `random-uuid` prints).
    cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    path.write_text(cid)
    return cid
