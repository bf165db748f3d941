"""The codec's errors. Messages locate the problem and never include payload values."""

from __future__ import annotations


class DecodeError(Exception):
    """A Kafka record value could not be turned into a contract model.

    Raised for garbage bytes, an unknown schema fingerprint, a body that does not match its
    writer schema, and a record that fails model validation (the reason names the field).
    """

    message_is_safe = True  # names the field and the reason, never the payload's values

    def __init__(
        self, topic: str | None, partition: int | None, offset: int | None, reason: str
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"cannot decode record at topic={topic} partition={partition} offset={offset}: {reason}"
        )


class EncodeError(ValueError):
    """A record could not be encoded with the named schema (unknown type or mismatched data)."""


class SchemaStoreError(RuntimeError):
    """The schema folder is inconsistent: a file does not parse or a name is defined twice."""
