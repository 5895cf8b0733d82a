"""The Store interface: what the server needs from a database, engine-agnostic.

``store_sqlite.SqliteStore`` is the default engine; a PostgreSQL engine will implement the same
Protocol later. Rules for implementers:

* Every method is a coroutine and must never block the event loop (run driver calls on a
  thread or use an async driver).
* A method returns only after its write is durable: an account ``create_account`` returned must
  survive a kill -9 of the process right after.
* Lookups return ``None`` when nothing matches; they never raise for "not found".
* Uniqueness violations raise ``UsernameInUse`` / ``IdentityInUse`` from ``host.storage.errors``,
  never a driver exception, and leave nothing half-written (one transaction per create).
* Times are unix seconds (ints), as Nakama's API reports them (it drops sub-second digits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Account", "Store"]


@dataclass(slots=True)
class Account:
    """One user with its linked identities; the fields of Nakama's ``users`` row that nkhost uses.

    Empty strings mean NULL (Nakama omits them from JSON); ``verify_time`` and ``disable_time``
    are 0 when unset. ``password_hash`` is the bcrypt hash, empty when the account has no password.
    """

    id: str
    username: str
    display_name: str = ""
    avatar_url: str = ""
    lang_tag: str = "en"
    location: str = ""
    timezone: str = ""
    metadata: str = "{}"
    wallet: str = "{}"
    email: str = ""
    password_hash: bytes = b""
    custom_id: str = ""
    devices: list[str] = field(default_factory=list)
    edge_count: int = 0
    create_time: int = 0
    update_time: int = 0
    verify_time: int = 0
    disable_time: int = 0

    @property
    def disabled(self) -> bool:
        """Banned accounts carry a non-zero disable_time (Nakama checks ``Unix() != 0``)."""
        return self.disable_time != 0


@runtime_checkable
class Store(Protocol):
    """Account storage. See the module docstring for the rules every engine follows."""

    async def open(self) -> None:
        """Connect and create or migrate the schema. Called once before any other method."""

    async def close(self) -> None:
        """Finish pending work and release the connection; later calls raise StoreClosed."""

    # Lookups -----------------------------------------------------------------------------

    async def get_account(self, user_id: str) -> Account | None:
        """The account with this id (a UUID string), or None."""

    async def account_by_device(self, device_id: str) -> Account | None:
        """The account linked to this device id, or None."""

    async def account_by_custom_id(self, custom_id: str) -> Account | None:
        """The account linked to this custom id, or None."""

    async def account_by_email(self, email: str) -> Account | None:
        """The account with this email (callers pass it lowercased), or None."""

    async def account_by_username(self, username: str) -> Account | None:
        """The account with exactly this username (case-sensitive, as Nakama's UNIQUE column), or None."""

    # Writes ------------------------------------------------------------------------------

    async def create_account(
        self,
        username: str,
        *,
        device_id: str = "",
        custom_id: str = "",
        email: str = "",
        password_hash: bytes = b"",
    ) -> Account:
        """Create a new account (fresh UUID v4 id) with the given links, in one transaction.

        Raises:
            UsernameInUse: the username is taken.
            IdentityInUse: the device id, custom id or email is already linked.
        """

    async def set_disable_time(self, user_id: str, disable_time: int) -> bool:
        """Ban (non-zero unix time) or unban (0) an account. Returns False if it does not exist."""
