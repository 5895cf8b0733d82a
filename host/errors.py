"""ApiError: a failure that carries a gRPC status code and the client-facing message.

Core functions (accounts, and later chat, storage objects...) raise it with Nakama's exact
code and text; each front door turns it into its wire form: REST into grpc-gateway's
``{"code","message"}`` with the mapped HTTP status, Lua into an error with that code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = ["ApiError", "Code", "numbered_codes"]


def numbered_codes(name: str, names: str, doc: str, module: str) -> Any:
    """An IntEnum numbering whitespace-separated ``names`` from 0, as a protobuf/gRPC enum does.

    One definition for every code list on the wire: gRPC's ``Code`` here and the
    realtime ``ErrorCode`` (``host.net.errors``). ``module`` is the defining
    module's ``__name__``, so members pickle and print as declared there.
    """
    codes = IntEnum(name, names.split(), start=0, module=module)  # type: ignore[misc]
    codes.__doc__ = doc
    return codes


Code = numbered_codes(
    "Code",
    """OK CANCELED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED
    RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE
    DATA_LOSS UNAUTHENTICATED""",
    "The gRPC codes Nakama uses (google.golang.org/grpc/codes).",
    __name__,
)


class ApiError(Exception):
    """``code`` is a gRPC code; ``message`` is shown to the client verbatim."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
