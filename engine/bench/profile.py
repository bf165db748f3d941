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
        }
    return summarize(root, top=top)
