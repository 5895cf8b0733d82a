"""Configuration: Nakama's keys and defaults, YAML then flags, every problem named."""

from __future__ import annotations

import argparse
import os

import pytest

from host.config import Config, ConfigError, add_flags, insecure_defaults, load, validate


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_nakamas():
    c = load(parse())
    assert (c.name, c.data_dir) == ("nakama", "./data")
    assert (c.runtime.path, c.runtime.http_key, c.runtime.env) == ("./lua_modules", "defaulthttpkey", [])
    assert (c.runtime.lua_call_timeout_ms, c.runtime.lua_max_memory_mb, c.runtime.lua_jit) == (5000, 64, False)
    assert c.runtime.lua_pool_size == min(2 * (os.cpu_count() or 1), 16) and c.runtime.hot_reload is True
    assert (c.socket.port, c.socket.server_key, c.socket.max_message_size_bytes) == (7350, "defaultkey", 4096)
    assert c.socket.outgoing_queue_size == 1 << 20
    assert (c.socket.ping_period_ms, c.socket.pong_wait_ms) == (15000, 25000)
    assert (c.session.encryption_key, c.session.token_expiry_sec) == ("defaultencryptionkey", 60)
    assert (c.session.refresh_encryption_key, c.session.refresh_token_expiry_sec) == ("defaultrefreshencryptionkey", 3600)
    assert (c.logger.level, c.logger.format) == ("info", "json")
    assert (c.database.address, c.database.max_open_conns, c.database.max_idle_conns) == ("", 100, 100)
    assert c.database.conn_max_lifetime_ms == 3600000
    assert (c.socket.read_timeout_ms, c.socket.write_timeout_ms, c.socket.idle_timeout_ms, c.socket.write_wait_ms) == (10000, 10000, 60000, 5000)
    assert (c.socket.max_header_bytes, c.socket.max_header_count, c.socket.max_url_bytes) == (65536, 100, 8192)
    assert 64 <= c.socket.max_connections <= 65536


def test_yaml_then_flags_later_wins(tmp_path):
    f = tmp_path / "c.yml"
    f.write_text("name: node7\nruntime:\n  path: mods\n  env: ['a=1', 'b=2']\n  lua_jit: true\nsocket:\n  port: 7777\n")
    c = load(parse("--config", str(f), "--socket.port", "8888", "--runtime.env", "c=3"))
    assert (c.name, c.runtime.path, c.runtime.lua_jit, c.socket.port) == ("node7", "mods", True, 8888)
    assert c.runtime.env == ["c=3"] and c.runtime.env_map() == {"c": "3"}


def test_every_problem_is_reported_naming_its_key():
    c = Config()
    c.runtime.env = ["novalue"]
    c.socket.port = 70000
    c.session.refresh_encryption_key = c.session.encryption_key
    c.logger.level = "loud"
    problems = validate(c)
    assert [p.split(":")[0] for p in problems] == ["runtime.env", "socket.port", "session.refresh_encryption_key", "logger.level"]


@pytest.mark.parametrize(
    "argv, key",
    [(["--socket.port", "x"], "socket.port"), (["--socket.idle_timeout_ms", "0"], "socket.idle_timeout_ms"),
     (["--socket.max_connections", "-1"], "socket.max_connections"), (["--socket.max_header_count", "0"], "socket.max_header_count"), (["--runtime.lua_jit", "maybe"], "runtime.lua_jit"), (["--socket.ping_period_ms", "30000"], "socket.ping_period_ms")],
)
def test_bad_values_are_refused(argv, key):
    with pytest.raises(ConfigError, match=key):
        load(parse(*argv))


def test_unknown_yaml_key_is_refused(tmp_path):
    f = tmp_path / "c.yml"
    f.write_text("runtime:\n  pathh: x\n")
    with pytest.raises(ConfigError, match="runtime.pathh: unknown setting"):
        load(parse("--config", str(f)))


def test_insecure_defaults_names_every_key_left_at_its_public_default():
    c = load(parse())
    assert insecure_defaults(c) == ["socket.server_key", "runtime.http_key", "session.encryption_key", "session.refresh_encryption_key"]
    c = load(parse("--socket.server_key", "k1", "--session.encryption_key", "k2"))
    assert insecure_defaults(c) == ["runtime.http_key", "session.refresh_encryption_key"]
