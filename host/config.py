"""Configuration: one dataclass per section, Nakama's keys and defaults.

Sources, later ones winning: the defaults on the fields, a YAML file given with
``--config``, then command-line flags named after the keys (``--runtime.path``).
``validate`` reports every problem at once, naming the key.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "Config",
    "RuntimeConfig",
    "SocketConfig",
    "SessionConfig",
    "DatabaseConfig",
    "LoggerConfig",
    "PartyConfig",
    "MatchConfig",
    "WebConfig",
    "load",
    "add_flags",
    "validate",
    "insecure_defaults",
    "ConfigError",
]


class ConfigError(ValueError):
    """The configuration is unusable; the message lists every problem."""


@dataclass(slots=True)
class RuntimeConfig:
    path: str = field(default="./lua_modules", metadata={"usage": "Directory of the Lua modules."})
    http_key: str = field(default="defaulthttpkey", metadata={"usage": "Key for server-to-server HTTP RPC calls."})
    env: list[str] = field(default_factory=list, metadata={"usage": "'key=value' entries exposed as ctx.env."})
    lua_call_timeout_ms: int = field(default=5000, metadata={"usage": "Deadline of every call into Lua."})
    lua_max_memory_mb: int = field(default=64, metadata={"usage": "Memory cap of each Lua VM."})
    lua_jit: bool = field(default=False, metadata={"usage": "Enable the LuaJIT compiler, for trusted code only: hooks never fire in compiled code, so a runaway loop is not stopped (the watchdog fails the call and replaces the VM, but the stuck thread keeps spinning)."})
    lua_pool_size: int = field(default_factory=lambda: min(2 * (os.cpu_count() or 1), 16), metadata={"usage": "Worker threads, each owning a Lua VM (default: twice the CPU count, at most 16, so a worker waiting for the GIL or the loop leaves a core to another)."})
    hot_reload: bool = field(default=True, metadata={"usage": "Watch runtime.path and reload the modules on change."})
    event_queue_size: int = field(default=65536, metadata={"usage": "Events (nk.event) waiting for their handlers; when full, new events are dropped."})
    event_queue_workers: int = field(default=2, metadata={"usage": "Event handler calls running at once; they share the Lua workers with RPCs (Nakama's default is 8 goroutines)."})
    http_request_hosts: list[str] = field(default_factory=list, metadata={"usage": "Hosts nk.http_request may reach ('api.example.com', '*.example.com', an IP); repeatable. Empty: any host, as in Nakama (see README, SSRF)."})
    http_request_max_response_bytes: int = field(default=8 << 20, metadata={"usage": "Largest response body nk.http_request reads."})

    def env_map(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.env)


def _default_max_connections() -> int:
    """Leave file descriptors for the database, the modules and the logs; past the limit
    accept() fails with EMFILE and nobody is told why."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 1024
    if soft == resource.RLIM_INFINITY:
        return 65536
    return max(64, min(soft - 256, 65536))


@dataclass(slots=True)
class SocketConfig:
    address: str = field(default="0.0.0.0", metadata={"usage": "Interface to listen on."})
    port: int = field(default=7350, metadata={"usage": "Port for HTTP and the realtime socket."})
    server_key: str = field(default="defaultkey", metadata={"usage": "Key clients authenticate with."})
    max_message_size_bytes: int = field(default=4096, metadata={"usage": "Largest incoming realtime message; bigger closes the socket."})
    max_request_size_bytes: int = field(default=262144, metadata={"usage": "Largest HTTP request body."})
    outgoing_queue_size: int = field(default=1 << 20, metadata={"usage": "Outgoing buffer per socket, in bytes (Nakama counts 64 messages)."})
    ping_period_ms: int = field(default=15000, metadata={"usage": "Interval of WebSocket ping frames."})
    pong_wait_ms: int = field(default=25000, metadata={"usage": "Close a socket silent for this long."})
    write_wait_ms: int = field(default=5000, metadata={"usage": "A WebSocket whose outgoing side stays full (the client does not read) this long is dropped."})
    read_timeout_ms: int = field(default=10000, metadata={"usage": "HTTP: a request (line, headers and body) must arrive within this long of its first byte (or of the connection, for the first request)."})
    write_timeout_ms: int = field(default=10000, metadata={"usage": "HTTP: a connection whose responses stay unread (the client does not read) this long is dropped."})
    idle_timeout_ms: int = field(default=60000, metadata={"usage": "HTTP: close a keep-alive connection that sent no request for this long."})
    max_connections: int = field(default_factory=_default_max_connections, metadata={"usage": "Most connections open at once, HTTP and realtime (not a Nakama key); more are answered 503 and closed. Default: the open-file limit less 256, at most 65536."})
    max_header_bytes: int = field(default=65536, metadata={"usage": "HTTP: largest request line plus headers (not a Nakama key); more is refused with 431."})
    max_header_count: int = field(default=100, metadata={"usage": "HTTP: most header lines in a request (not a Nakama key); more are refused with 431."})
    max_url_bytes: int = field(default=8192, metadata={"usage": "HTTP: longest request target (not a Nakama key); longer is refused with 414."})
    close_ack_wait_ms: int = field(default=2000, metadata={"usage": "Wait for the client's close frame."})


@dataclass(slots=True)
class SessionConfig:
    encryption_key: str = field(default="defaultencryptionkey", metadata={"usage": "Signs session tokens (HS256)."})
    token_expiry_sec: int = field(default=60, metadata={"usage": "Session token lifetime."})
    refresh_encryption_key: str = field(default="defaultrefreshencryptionkey", metadata={"usage": "Signs refresh tokens."})
    refresh_token_expiry_sec: int = field(default=3600, metadata={"usage": "Refresh token lifetime."})


@dataclass(slots=True)
class DatabaseConfig:
    address: str = field(default="", metadata={"usage": "Empty: a SQLite file in data_dir (data_dir/nkhost.db). PostgreSQL: user:password@host:port/dbname (Nakama's form) or a postgres:// URL. Anything else: a SQLite file path."})
    max_open_conns: int = field(default=100, metadata={"usage": "PostgreSQL: most connections open at once (<= 0: no limit)."})
    max_idle_conns: int = field(default=100, metadata={"usage": "PostgreSQL: most connections kept open while unused (<= 0: none)."})
    conn_max_lifetime_ms: int = field(default=3600000, metadata={"usage": "PostgreSQL: reuse a connection this long, then replace it (<= 0: forever)."})


@dataclass(slots=True)
class LoggerConfig:
    level: str = field(default="info", metadata={"usage": "debug, info, warn or error."})
    format: str = field(default="json", metadata={"usage": "json or text."})


@dataclass(slots=True)
class PartyConfig:
    label_update_interval_ms: int = field(default=1000, metadata={"usage": "How often party listing changes (create, update, close) reach the listing index."})
    idle_check_interval_ms: int = field(default=30000, metadata={"usage": "How often a party nobody is tracked in and nothing happened to since the last check is closed; 0 or less turns it off."})


@dataclass(slots=True)
class MatchConfig:
    input_queue_size: int = field(default=128, metadata={"usage": "Client data messages queued for one authoritative match's next tick; more are dropped (the sender gets an error)."})
    call_queue_size: int = field(default=128, metadata={"usage": "Joins, leaves and terminate calls queued for one authoritative match; a full queue ends that match."})
    join_attempt_queue_size: int = field(default=128, metadata={"usage": "Join attempts queued for one authoritative match; more are rejected."})
    deferred_queue_size: int = field(default=128, metadata={"usage": "broadcast_message_deferred calls per callback."})
    signal_queue_size: int = field(default=10, metadata={"usage": "nk.match_signal calls queued for one match; more get 'match busy'."})
    join_marker_deadline_ms: int = field(default=15000, metadata={"usage": "How long an accepted join may take to arrive before the match sees it leave."})
    max_empty_sec: int = field(default=0, metadata={"usage": "End an authoritative match empty for this long (0: never)."})
    label_update_interval_ms: int = field(default=1000, metadata={"usage": "How often label changes reach the match listing index."})


@dataclass(slots=True)
class WebConfig:
    static_dir: str = field(default="", metadata={"usage": "Serve this directory's files under /web/ (GET and HEAD only), e.g. examples/web for the browser demo. Empty: off. Not a Nakama setting."})


@dataclass(slots=True)
class Config:
    name: str = field(default="nakama", metadata={"usage": "Node name."})
    data_dir: str = field(default="./data", metadata={"usage": "Directory for the SQLite file and other data."})
    shutdown_grace_sec: int = field(default=0, metadata={"usage": "On shutdown, how long authoritative matches get after match_terminate before they are stopped."})
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    socket: SocketConfig = field(default_factory=SocketConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    party: PartyConfig = field(default_factory=PartyConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    web: WebConfig = field(default_factory=WebConfig)


_SECTIONS = ("runtime", "socket", "session", "database", "logger", "party", "match", "web")


def _parse_bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "t", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _coerce(kind: Any, value: Any, key: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "bool":
            return value if isinstance(value, bool) else _parse_bool(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("a boolean is not an integer")
            return int(value)
        if kind.startswith("list"):
            if isinstance(value, str):
                return [value]
            return [str(v) for v in value]
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _flag_specs() -> list[tuple[str, Any, Any, str]]:
    """(dotted key, owner class, field, usage) for every setting."""
    specs = []
    for f in fields(Config):
        if f.name in _SECTIONS:
            for sub in fields(f.default_factory()):  # type: ignore[misc]
                specs.append((f"{f.name}.{sub.name}", f.name, sub, sub.metadata.get("usage", "")))
        else:
            specs.append((f.name, None, f, f.metadata.get("usage", "")))
    return specs


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one ``--section.key`` flag per setting (all default None)."""
    parser.add_argument("--config", action="append", default=[], help="YAML configuration file(s).")
    for key, _, f, usage in _flag_specs():
        action = "append" if str(f.type).startswith("list") else "store"
        parser.add_argument(f"--{key}", dest=key, action=action, default=None, help=usage)


def _set(config: Config, key: str, value: Any) -> None:
    for dotted, section, f, _ in _flag_specs():
        if dotted == key:
            target = getattr(config, section) if section else config
            setattr(target, f.name, _coerce(f.type, value, key))
            return
    raise ConfigError(f"{key}: unknown setting")


def load(args: argparse.Namespace | None = None, files: list[str] | None = None) -> Config:
    """Build a Config from YAML files and parsed flags, then validate it."""
    import yaml

    config = Config()
    for path in list(files or []) + list(getattr(args, "config", None) or []):
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: expected a mapping at the top level")
        for top, value in data.items():
            if top in _SECTIONS and isinstance(value, dict):
                for sub, subvalue in value.items():
                    _set(config, f"{top}.{sub}", subvalue)
            else:
                _set(config, str(top), value)
    if args is not None:
        for key, _, _, _ in _flag_specs():
            value = getattr(args, key, None)
            if value is not None:
                _set(config, key, value)
    problems = validate(config)
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def validate(config: Config) -> list[str]:
    """Every problem with the configuration, each naming its key."""
    problems = []
    if not config.name:
        problems.append("name: must not be empty")
    for item in config.runtime.env:
        if "=" not in item:
            problems.append(f"runtime.env: entry {item!r} is not key=value")
    if not config.runtime.http_key:
        problems.append("runtime.http_key: must not be empty")
    if config.runtime.lua_call_timeout_ms <= 0:
        problems.append("runtime.lua_call_timeout_ms: must be positive")
    if config.runtime.lua_max_memory_mb <= 0:
        problems.append("runtime.lua_max_memory_mb: must be positive")
    if config.runtime.lua_pool_size <= 0:
        problems.append("runtime.lua_pool_size: must be positive")
    for key in ("event_queue_size", "event_queue_workers", "http_request_max_response_bytes"):
        if getattr(config.runtime, key) <= 0:
            problems.append(f"runtime.{key}: must be positive")
    if not 0 <= config.socket.port <= 65535:
        problems.append("socket.port: must be 0-65535")
    if not config.socket.server_key:
        problems.append("socket.server_key: must not be empty")
    if config.socket.max_message_size_bytes <= 0:
        problems.append("socket.max_message_size_bytes: must be positive")
    if config.socket.outgoing_queue_size <= 0:
        problems.append("socket.outgoing_queue_size: must be positive")
    for key in ("write_wait_ms", "read_timeout_ms", "write_timeout_ms", "idle_timeout_ms", "max_connections", "max_header_bytes", "max_header_count", "max_url_bytes"):
        if getattr(config.socket, key) <= 0:
            problems.append(f"socket.{key}: must be positive")
    if config.socket.ping_period_ms >= config.socket.pong_wait_ms:
        problems.append("socket.ping_period_ms: must be less than socket.pong_wait_ms")
    if not config.session.encryption_key:
        problems.append("session.encryption_key: must not be empty")
    if config.session.encryption_key == config.session.refresh_encryption_key:
        problems.append("session.refresh_encryption_key: must differ from session.encryption_key")
    if config.session.token_expiry_sec <= 0:
        problems.append("session.token_expiry_sec: must be positive")
    if config.session.refresh_token_expiry_sec <= 0:
        problems.append("session.refresh_token_expiry_sec: must be positive")
    if config.database.address:
        from host.storage.address import engine_of, parse_address

        if engine_of(config.database.address) == "postgres":
            try:
                parse_address(config.database.address)
            except ValueError as exc:
                problems.append(f"database.address: {exc}")
    if config.logger.level not in ("debug", "info", "warn", "error"):
        problems.append("logger.level: must be debug, info, warn or error")
    if config.logger.format not in ("json", "text"):
        problems.append("logger.format: must be json or text")
    if config.party.label_update_interval_ms <= 0:
        problems.append("party.label_update_interval_ms: must be positive")
    if config.shutdown_grace_sec < 0:
        problems.append("shutdown_grace_sec: must be 0 or more")
    for name in ("input_queue_size", "call_queue_size", "join_attempt_queue_size", "deferred_queue_size", "signal_queue_size", "label_update_interval_ms"):
        if getattr(config.match, name) <= 0:
            problems.append(f"match.{name}: must be positive")
    for name in ("join_marker_deadline_ms", "max_empty_sec"):
        if getattr(config.match, name) < 0:
            problems.append(f"match.{name}: must be 0 or more")
    if config.web.static_dir and not Path(config.web.static_dir).is_dir():
        problems.append(f"web.static_dir: {config.web.static_dir!r} is not a directory")
    return problems


_SECRETS = ("socket.server_key", "runtime.http_key", "session.encryption_key", "session.refresh_encryption_key")


def insecure_defaults(config: Config) -> list[str]:
    """The secret keys still at their public defaults, which anyone can sign tokens or call
    RPCs with; the server warns about each at start, as Nakama's CheckConfig does."""
    defaults = Config()
    out = []
    for key in _SECRETS:
        section, _, name = key.partition(".")
        if getattr(getattr(config, section), name) == getattr(getattr(defaults, section), name):
            out.append(key)
    return out
