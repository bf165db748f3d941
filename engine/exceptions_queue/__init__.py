"""Business exceptions: sagas parked in `exception` awaiting an operator (list, retry, cancel)."""

from engine.exceptions_queue.queue import (
    EXCEPTION_STATE,
    ExceptionItem,
    exception_age,
    exception_items,
)

__all__ = ["EXCEPTION_STATE", "ExceptionItem", "exception_age", "exception_items"]
