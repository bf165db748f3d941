"""Child-process entry: runs one system under test until SIGTERM.

    python -m engine.bench.host engine|raw|raw_txn|faust --bootstrap B --prefix P --group G
        --mode exactly_once|at_least_once [--out-prefix O] [--profile FILE] [--worker-id W]
        [--fanout F]

Each system gets its own process so its CPU seconds and peak RSS are its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from engine.bench.raw_pipe import run_raw_pipe
from engine.runtime.names import TopicNames
from engine.settings import ProcessingMode, Settings

SYSTEMS = ("engine", "raw", "raw_txn", "faust")


def raw_output_topic(prefix: str) -> str:
    """Where the raw pipe copies its input (one topic, 6 partitions, made by the driver)."""
    return f"{prefix}bench.raw.out"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="engine.bench.host")
    p.add_argument("system", choices=SYSTEMS)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--mode", choices=[m.value for m in ProcessingMode], required=True)
    p.add_argument("--out-prefix", default="")
    p.add_argument("--profile", default="")
    p.add_argument("--worker-id", default="bench")
    p.add_argument("--fanout", type=float, default=1.0, help="raw pipes: copies per record")
    return p.parse_args(argv)


async def _run_async(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    if args.system == "engine":
        from engine.runtime.worker import Worker

        settings = Settings(
            bootstrap_servers=args.bootstrap,
            topic_prefix=args.prefix,
            group_id=args.group,
            processing_mode=ProcessingMode(args.mode),
        )
        # The saga worker alone: account-validated replies are part of the generated input.
        worker = Worker(settings, worker_id=args.worker_id)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.request_stop)
        await worker.run()
        return
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_raw_pipe(
        {"bootstrap_servers": args.bootstrap},
        TopicNames(args.prefix).inbound,
        raw_output_topic(args.prefix),
        args.group,
        transactional=args.system == "raw_txn",
        stop=stop,
        fanout=args.fanout,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.system == "faust":
        from engine.bench.faust_host import run_faust

        run_faust(
            args.bootstrap,
            TopicNames(args.prefix).inbound,
            args.out_prefix,
            args.group,
            exactly_once=args.mode == ProcessingMode.EXACTLY_ONCE.value,
        )
        return
    if not args.profile:
        asyncio.run(_run_async(args))
        return
    from pyinstrument import Profiler

    from engine.bench.profile import top_functions

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        asyncio.run(_run_async(args))
    finally:
        session = profiler.stop()
        out = Path(args.profile)
        out.with_suffix(".txt").write_text(profiler.output_text(show_all=False, unicode=False))
        out.write_text(json.dumps(top_functions(session), indent=1))


if __name__ == "__main__":
    main()
