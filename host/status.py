"""StatusError: a failure that carries a gRPC status code and the client-facing message.

Core functions (accounts, and later chat, storage objects...) raise it with Nakama's exact
code and text; each front door turns it into its wire form: REST into grpc-gateway's
``{"code","message"}`` with the mapped HTTP status, Lua into an error with that code.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["StatusError", "Code"]


class Code(IntEnum):
    """The gRPC codes Nakama uses (google.golang.org/grpc/codes)."""

    OK = 0
    CANCELED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class StatusError(Exception):
    """``code`` is a gRPC code; ``message`` is shown to the client verbatim."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
