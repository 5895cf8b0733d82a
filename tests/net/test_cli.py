"""The command line: ``nkhost check`` and configuration errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "host", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_check_reports_each_error_and_exits_1(tmp_path):
    (tmp_path / "good.lua").write_text('local nk = require("nakama")\nnk.register_rpc(function() end, "ok")\n')
    (tmp_path / "bad.lua").write_text("this is not lua\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "boom.lua").write_text("local x = 1\n\nerror('boom')\n")
    result = run("check", "--runtime.path", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("runtime generation 1 refused: 2 errors in "), lines
    assert lines[1] == "  errors (2):"
    assert lines[2].startswith("    bad.lua:1: "), lines
    assert lines[3] == "    sub/boom.lua:3: boom", lines


def test_check_passes_on_good_modules(tmp_path):
    (tmp_path / "good.lua").write_text('local nk = require("nakama")\nnk.register_rpc(function() end, "ok")\n')
    result = run("check", "--runtime.path", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("runtime generation 1 live: 1 module, 1 RPC in ")
    assert result.stdout.splitlines()[1:] == ["  modules (1):", "    good  good.lua", "  rpcs (1):", "    ok"]


def test_bad_configuration_exits_2_naming_the_key(tmp_path):
    result = run("--logger.level", "loud", "--data_dir", str(tmp_path))
    assert result.returncode == 2
    assert "logger.level" in result.stderr


def test_yaml_config_file_is_read(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("logger:\n  level: shout\n")
    result = run("--config", str(config))
    assert result.returncode == 2 and "logger.level" in result.stderr
