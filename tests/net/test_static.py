"""The static-files route (web.static_dir): off by default, GET/HEAD only, never outside its directory."""

from __future__ import annotations

import asyncio

import pytest

from host.config import ConfigError, load
from tests.conftest import WAIT
from tests.net.helpers import build_request, http

NOT_FOUND = (404, b"404 page not found\n")


@pytest.fixture
def site(tmp_path):
    """A served directory with a page and a module, and a secret beside it (the traversal target)."""
    (tmp_path / "secret.txt").write_text("secret")
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>demo</h1>")
    (root / "app.mjs").write_text("export const x = 1;")
    (root / "style.css").write_text("h1 {}")
    (root / "blob.bin").write_bytes(b"\x00\x01")
    (root / "sub" / "index.html").write_text("<p>sub</p>")
    (root / ".hidden").write_text("dotfile")
    (root / "out.txt").symlink_to(tmp_path / "secret.txt")
    (root / "outdir").symlink_to(tmp_path)
    (root / "inside.html").symlink_to(root / "index.html")
    return root


async def test_off_by_default(start_server, site):
    app = await start_server()
    reply = await http(app.port, "GET", "/web/index.html")
    assert (reply.status, reply.json()) == (404, {"code": 5, "message": "Not Found"})


async def test_serves_files_with_their_content_types(start_server, site):
    app = await start_server(web__static_dir=str(site))
    for target, body, kind in [
        ("/web/", b"<h1>demo</h1>", "text/html; charset=utf-8"),
        ("/web/index.html", b"<h1>demo</h1>", "text/html; charset=utf-8"),
        ("/web/app.mjs", b"export const x = 1;", "text/javascript; charset=utf-8"),
        ("/web/style.css", b"h1 {}", "text/css; charset=utf-8"),
        ("/web/blob.bin", b"\x00\x01", "application/octet-stream"),
        ("/web/sub/", b"<p>sub</p>", "text/html; charset=utf-8"),
        ("/web/inside.html", b"<h1>demo</h1>", "text/html; charset=utf-8"),  # a symlink that stays inside
        ("/web/%69ndex.html", b"<h1>demo</h1>", "text/html; charset=utf-8"),  # percent-decoded once
    ]:
        reply = await http(app.port, "GET", target)
        assert (reply.status, reply.body, reply.headers["content-type"]) == (200, body, kind), target
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["cache-control"] == "no-cache"
    moved = await http(app.port, "GET", "/web")
    assert (moved.status, moved.headers["location"]) == (301, "/web/")


@pytest.mark.parametrize("target", [
    "/web/../secret.txt",
    "/web/sub/../../secret.txt",
    "/web/%2e%2e/secret.txt",
    "/web/%2E%2E%2Fsecret.txt",
    "/web/..%2fsecret.txt",
    "/web/sub%2f..%2f..%2fsecret.txt",
    "/web/..%5csecret.txt",
    "/web/..\\secret.txt",
    "/web/sub\\..\\..\\secret.txt",
    "/web//etc/passwd",
    "/web/%2fetc%2fpasswd",
    "/web/index.html%00.png",
    "/web/index.html%00",
    "/web/out.txt",  # a symlink out of the directory
    "/web/outdir/secret.txt",  # through a symlinked directory
    "/web/.hidden",
    "/web/./index.html",
    "/web/sub",  # a directory without its slash
    "/web/missing.html",
    "/web/%252e%252e/secret.txt",  # decoded once: a literal "%2e%2e" directory, which does not exist
])
async def test_nothing_outside_the_directory_is_served(start_server, site, target):
    app = await start_server(web__static_dir=str(site))
    reply = await http(app.port, "GET", target)
    assert (reply.status, reply.body) == NOT_FOUND, target
    assert b"secret" not in reply.body and b"root:" not in reply.body


async def test_only_get_and_head(start_server, site):
    app = await start_server(web__static_dir=str(site))
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        reply = await http(app.port, method, "/web/index.html")
        assert (reply.status, reply.json()) == (405, {"code": 12, "message": "Method Not Allowed"}), method
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    try:
        writer.write(build_request("HEAD", "/web/index.html") + build_request("GET", "/healthcheck"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert head.startswith(b"HTTP/1.1 200 ") and b"Content-Length: 13\r\n" in head
        assert b"Content-Type: text/html; charset=utf-8\r\n" in head
        # no body followed the HEAD reply: the next bytes are the pipelined GET's status line
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n"), WAIT)).startswith(b"HTTP/1.1 200 ")
    finally:
        writer.close()


def test_the_flag_names_the_directory(site, tmp_path):
    import argparse

    from host.config import add_flags

    parser = argparse.ArgumentParser()
    add_flags(parser)
    assert load(parser.parse_args(["--web.static_dir", str(site)])).web.static_dir == str(site)
    with pytest.raises(ConfigError, match="web.static_dir: .* is not a directory"):
        load(parser.parse_args(["--web.static_dir", str(tmp_path / "nope")]))
