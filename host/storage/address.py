"""What ``database.address`` names (no driver imported here: config validation uses it).

* empty: SQLite, the file ``data_dir/nkhost.db`` (the zero-setup default);
* ``postgres://...`` or ``postgresql://...``: PostgreSQL, a libpq URL;
* ``user[:password]@host[:port][/dbname]``: PostgreSQL in Nakama's form (Nakama puts
  ``postgres://`` in front; the database defaults to ``nakama``);
* ``sqlite:PATH`` or any other text: a SQLite file at that path.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

__all__ = ["engine_of", "parse_address"]


def engine_of(address: str) -> str:
    """"sqlite" or "postgres" for a ``database.address`` value."""
    if address.startswith(("postgres://", "postgresql://")) or ("@" in address and not address.startswith("sqlite:")):
        return "postgres"
    return "sqlite"


def parse_address(address: str) -> str:
    """Nakama's ``user:password@host:port/dbname`` (``postgres://`` is implied) or a
    ``postgres://``/``postgresql://`` URL -> a libpq URL. Nakama's default database name is
    ``nakama``; the port defaults to 5432."""
    url = address if "://" in address else "postgres://" + address
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ValueError(f"not a PostgreSQL address: {address!r}")
    dbname = parts.path.lstrip("/") or "nakama"
    auth = ""
    if parts.username:
        auth = quote(unquote(parts.username), safe="")
        if parts.password is not None:
            auth += ":" + quote(unquote(parts.password), safe="")
        auth += "@"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    query = f"?{parts.query}" if parts.query else ""
    return f"postgres://{auth}{host}:{parts.port or 5432}/{quote(dbname, safe='')}{query}"
