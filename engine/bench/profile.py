"""Function-level summary of a pyinstrument session: where the engine's busy time goes.

Idle time (the event loop waiting in epoll/select) is separated out, so shares are of the time
the process was actually working.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

IDLE_FUNCTIONS = frozenset({"poll", "select", "epoll", "kqueue", "control"})


def is_idle(function: str) -> bool:
    """True for the selector calls the event loop waits in (e.g. `epoll.poll`)."""
    return function.rsplit(".", 1)[-1] in IDLE_FUNCTIONS


Entry = tuple[str, str]  # (function, short file path)


def _walk(frame: Any, stack: list[Entry], self_t: dict, incl_t: dict) -> None:
    ident = (str(frame.function), str(frame.file_path_short or ""))
    if frame.is_synthetic:
        return
    self_t[ident] += float(frame.total_self_time)
    if ident not in stack:  # recursion: count a function's inclusive time once per stack
        incl_t[ident] += float(frame.time)
    stack.append(ident)
    for child in frame.children:
        _walk(child, stack, self_t, incl_t)
    stack.pop()


# The engine's hot path by stage: (function, file suffix) whose busy time (samples in the
# function and below, minus the event loop's waits) each stage is. `commit` holds `send` and
# `changelog` (they run inside it): `stage_costs` reports what is left as `commit_other`.
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "poll": (("poll", "engine/kafka/client.py"),),
    "handle": (("handle", "engine/runtime/processor.py"),),
    "decode": (("_decode", "engine/runtime/processor.py"),),
    "route": (("route", "engine/runtime/routing.py"), ("blocks", "engine/runtime/waiting.py")),
    "step": (("step", "engine/saga/engine.py"),),
    "build_records": (
        ("command_record", "engine/runtime/translate.py"),
        ("status_record", "engine/runtime/translate.py"),
    ),
    "commit": (("commit", "engine/runtime/checkpoint.py"),),
    "changelog": (("_changelog", "engine/runtime/checkpoint.py"),),
    "send": (("send_all", "engine/kafka/client.py"),),
    "store_commit": (("committed", "engine/runtime/checkpoint.py"),),
}


def _stage_of(ident: Entry) -> str | None:
    fn, path = ident
    for stage, members in STAGES.items():
        if any(fn == f and path.replace("\\", "/").endswith(suffix) for f, suffix in members):
            return stage
    return None


def _busy(frame: Any, open_stages: list[str], out: dict[str, float]) -> float:
    """Busy seconds of `frame`'s subtree, added to every stage open on the stack (once)."""
    if frame.is_synthetic:
        return 0.0
    ident = (str(frame.function), str(frame.file_path_short or ""))
    stage = _stage_of(ident)
    opened = stage is not None and stage not in open_stages
    if opened:
        open_stages.append(str(stage))
    own = 0.0 if is_idle(ident[0]) else float(frame.total_self_time)
    total = own + sum(_busy(child, open_stages, out) for child in frame.children)
    if opened:
        open_stages.pop()
        out[str(stage)] += total
    return total


def stage_costs(root: Any) -> dict[str, float]:
    """Busy seconds per stage of STAGES, with `commit_other` (the commit's own part) and
    `other` (busy time outside handle, poll and commit: timers, gauges, the API, start-up)."""
    out: dict[str, float] = defaultdict(float)
    busy = _busy(root, [], out)
    stages = {name: out.get(name, 0.0) for name in STAGES}
    stages["commit_other"] = max(0.0, stages["commit"] - stages["send"] - stages["changelog"])
    stages["other"] = max(
        0.0, busy - stages["handle"] - stages["poll"] - stages["commit"] - stages["store_commit"]
    )
    return stages


def summarize(root: Any, *, top: int = 15) -> dict[str, Any]:
    """Top functions by self and by inclusive time, as shares of the busy (non-idle) time."""
    self_t: dict[Entry, float] = defaultdict(float)
    incl_t: dict[Entry, float] = defaultdict(float)
    _walk(root, [], self_t, incl_t)
    total = float(root.time)
    idle = sum(t for (fn, _), t in self_t.items() if is_idle(fn))
    busy = max(total - idle, 1e-9)

    def rows(table: dict[Entry, float]) -> list[dict[str, Any]]:
        ranked = sorted(
            ((k, v) for k, v in table.items() if not is_idle(k[0])),
            key=lambda kv: kv[1],
            reverse=True,
        )
        return [
            {"function": fn, "file": path, "seconds": round(t, 4), "share_of_busy": t / busy}
            for (fn, path), t in ranked[:top]
        ]

    return {
        "wall_seconds": total,
        "idle_seconds": idle,
        "busy_seconds": busy,
        "top_self": rows(self_t),
        "top_inclusive": rows(incl_t),
        "stage_seconds": stage_costs(root),
    }


def top_functions(session: Any, *, top: int = 15) -> dict[str, Any]:
    """`summarize` for a pyinstrument Session (empty when nothing was sampled)."""
    root = session.root_frame()
    if root is None:
        return {
            "wall_seconds": 0.0,
            "idle_seconds": 0.0,
            "busy_seconds": 0.0,
            "top_self": [],
            "top_inclusive": [],
            "stage_seconds": {},
        }
    return summarize(root, top=top)
