"""Errors of the Lua runtime.

Hierarchy::

    RuntimeFailure
    ├── LoadError: modules failed to load; ``errors`` holds "file:line: message" lines
    ├── RpcNotFound: no RPC with that id in the current generation
    └── RpcError: a call failed; ``code`` is the gRPC code (13 Internal by default)
    NkArgError (also ValueError): an nk function got a bad argument; becomes a Lua error
"""

from __future__ import annotations

__all__ = [
    "RuntimeFailure",
    "LoadError",
    "RpcNotFound",
    "RpcError",
    "CallTimeout",
    "CallOutOfMemory",
    "NkArgError",
    "INTERNAL",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
]

DEADLINE_EXCEEDED = 4
RESOURCE_EXHAUSTED = 8
INTERNAL = 13


class RuntimeFailure(Exception):
    """Base class of runtime errors seen by the host."""


class LoadError(RuntimeFailure):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class RpcNotFound(RuntimeFailure):
    def __init__(self, rpc_id: str) -> None:
        super().__init__("RPC function not found")
        self.rpc_id = rpc_id


class RpcError(RuntimeFailure):
    """A Lua error or limit hit during a call. ``message`` never holds a stack trace."""

    def __init__(self, message: str, code: int = INTERNAL) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if 0 < code < 17 else INTERNAL

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class CallTimeout(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__(message, DEADLINE_EXCEEDED)


class CallOutOfMemory(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__(message, RESOURCE_EXHAUSTED)


class NkArgError(ValueError):
    """Raised by an nk function for bad input; the binding turns it into a Lua error
    carrying the caller's file:line, which a script can catch with pcall.

    With ``argn`` the text reads as gopher-lua's ArgError, "bad argument #2 to
    stream_user_join (session id does not exist)"; without, it is the message alone
    (Nakama's RaiseError).
    """

    def __init__(self, message: str, argn: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.argn = argn

    def lua_text(self, fname: str) -> str:
        if self.argn is None:
            return self.message
        return f"bad argument #{self.argn} to {fname} ({self.message})"
