"""Social benchmark: listing 1,000 friends and a group of 1,000 users, as ratios to a trivial RPC.

Run: python bench/social.py [--rounds N] [--window S] [--engines sqlite,postgres]

For each engine a real nkhost process runs lua_modules/bench.lua and a small module of listing
RPCs; one user has 1,000 friend edges and one group 1,000 members (made through the REST API).
Load generators in other processes keep one call outstanding per connection (closed loop,
bench/server.py's). Each round runs, interleaved in one sitting:

* ``bench.echo`` over 16 sockets: the trivial RPC, the reference for server CPU per call;
* ``nk.friends_list(user, 1000)`` and ``nk.group_users_list(group, 1000)`` from an RPC (all
  1,000 entries become Lua tables), and the same with Nakama's default page of 100;
* ``GET /v2/friend`` (Nakama's default page: all 1,000) and ``GET /v2/group/{id}/user``
  (its largest page, 100) over keep-alive connections.

Printed: calls/s and server CPU per call of each (best and median of the rounds), and each
listing's CPU per call as a ratio to bench.echo's in the same round (the issue's target: at most
10x for a 1,000-entry listing), median and per round. PostgreSQL runs in a throwaway cluster
(tests/pg.py).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from server import (  # noqa: E402
    BENCH_LUA, authenticate, closed_loop, engines_main, free_port, postgres_cluster, request_worker, rpc_worker, start_server,
)

ENTRIES = 1000
SOCIAL_LUA = """
local nk = require("nakama")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return tostring(#nk.friends_list(p.user, p.limit))
end, "bench_social.friends")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return tostring(#nk.group_users_list(p.group, p.limit))
end, "bench_social.group_users")
"""


def call(port: int, token: str, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


def user_id(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["uid"]


def seed(port: int) -> tuple[str, str, str]:
    """(owner token, owner id, group id): 1,000 friend edges and a group of 1,000 users."""
    owner, *others = authenticate(port, ENTRIES + 1)
    ids = [user_id(t) for t in others]
    group = call(port, owner, "POST", "/v2/group", {"name": "bench", "open": True, "max_count": ENTRIES + 1})["id"]
    for i in range(0, ENTRIES, 100):
        query = "&".join(f"ids={u}" for u in ids[i : i + 100])
        call(port, owner, "POST", f"/v2/friend?{query}")
        users = "&".join(f"user_ids={u}" for u in ids[i : i + 100])
        call(port, owner, "POST", f"/v2/group/{group}/add?{users}")
    assert len(call(port, owner, "GET", "/v2/friend")["friends"]) == ENTRIES
    return owner, user_id(owner), group


def rest_worker(port: int, token: str, path: str, conns: int, warmup: float, window: float, out) -> None:
    """Keep-alive GETs of ``path`` with a session token, one outstanding per connection."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    request_worker(port, conns, request, warmup, window, out)


def scenarios(port: int, tokens: list[str], owner: str, owner_id: str, group: str) -> list[tuple[str, object, list[tuple]]]:
    def rpc(name: str, rpc_id: str, payload: dict, sockets: int) -> tuple[str, object, list[tuple]]:
        text = json.dumps(payload)
        half = sockets // 2
        return name, rpc_worker, [(port, tokens[:half], rpc_id, text), (port, tokens[half:sockets], rpc_id, text)]

    return [
        rpc("echo", "bench.echo", {"hello": "world"}, 16),
        rpc("nk.friends_list 1000", "bench_social.friends", {"user": owner_id, "limit": ENTRIES}, 4),
        rpc("nk.group_users_list 1000", "bench_social.group_users", {"group": group, "limit": ENTRIES}, 4),
        rpc("nk.friends_list 100", "bench_social.friends", {"user": owner_id, "limit": 100}, 8),
        rpc("nk.group_users_list 100", "bench_social.group_users", {"group": group, "limit": 100}, 8),
        ("GET /v2/friend (1000)", rest_worker, [(port, owner, "/v2/friend", 2), (port, owner, "/v2/friend", 2)]),
        ("GET /v2/group/{id}/user (100)", rest_worker,
         [(port, owner, f"/v2/group/{group}/user?limit=100", 4), (port, owner, f"/v2/group/{group}/user?limit=100", 4)]),
    ]


def run_engine(engine: str, rounds: int, warmup: float, window: float) -> dict[str, list[dict]]:
    with postgres_cluster(engine) as cluster:
        extra = ["--database.address", cluster.create_database("bench")] if cluster else []
        tmp = Path(tempfile.mkdtemp(prefix=f"nkhost-bench-social-{engine}-"))
        module = tmp / "bench_social.lua"
        module.write_text(SOCIAL_LUA)
        port = free_port()
        proc = start_server(tmp, port, extra, lua=(BENCH_LUA, module))
        try:
            owner, owner_id, group = seed(port)
            tokens = authenticate(port, 16)
            plan = scenarios(port, tokens, owner, owner_id, group)
            results: dict[str, list[dict]] = {name: [] for name, _, _ in plan}
            for _ in range(rounds):
                for name, worker, splits in plan:
                    results[name].append(closed_loop(proc.pid, worker, splits, warmup, window))
            return results
        finally:
            proc.terminate()
            proc.wait()


def report(engine: str, results: dict[str, list[dict]]) -> None:
    print(f"\n{engine}:")
    echo = results["echo"]
    for name, runs in results.items():
        best = max(runs, key=lambda r: r["rate"])
        median_cpu = statistics.median(r["cpu_ms_per_call"] for r in runs)
        line = (f"  {name:<30} {best['rate']:>8,.0f} calls/s (median {statistics.median(r['rate'] for r in runs):,.0f})  "
                f"server CPU {median_cpu:.3f} ms/call (median)  p99 {best['p99_ms']:.2f} ms  errors {sum(r['errors'] for r in runs)}")
        if name != "echo":
            ratios = [r["cpu_ms_per_call"] / e["cpu_ms_per_call"] for r, e in zip(runs, echo)]
            line += f"\n  {'':<30} CPU / echo CPU: median {statistics.median(ratios):.1f}x  rounds {', '.join(f'{x:.1f}' for x in ratios)}"
        print(line)


def main() -> None:
    engines_main(__doc__, lambda engine, *run: report(engine, run_engine(engine, *run)))


if __name__ == "__main__":
    main()
