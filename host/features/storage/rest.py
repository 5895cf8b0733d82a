"""REST: Nakama's storage endpoints (api_storage.go), Bearer-authenticated, with hooks.

The caller is always the owner of what it writes or deletes. Validation runs after the
before hook, in Nakama's order, and rejects the whole request with Nakama's text; a database
that cannot serve answers 13 with the endpoint's own text.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Any, TypeVar

import orjson

from host.errors import ApiError, Code
from host.net.api import Route
from host.net.api_support import after_hook, authenticate_bearer, before_hook, endpoint, json_object, ok
from host.net.http import Request, Response
from host.storage import DatabaseError

from .core import NIL, Ack, ObjectId, StorageCore, StoredObject, WriteOp, parse_uuid

__all__ = ["ROUTES", "object_json", "ack_json"]

T = TypeVar("T")

_BAD_IDS = "Invalid collection or key value supplied. They must be set."
_BAD_USER = "Invalid user ID - make sure user ID is a valid UUID."


def _bad(message: str) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, message)


def _timestamp(micros: int, whole_seconds: bool) -> str:
    """google.protobuf.Timestamp JSON: 0, 3 or 6 fractional digits, as protojson writes them."""
    seconds, fraction = divmod(micros, 1_000_000)
    text = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if whole_seconds or fraction == 0:
        return text + "Z"
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}Z"
    return f"{text}.{fraction:06d}Z"


def object_json(obj: StoredObject) -> dict[str, Any]:
    """api.StorageObject; times in whole seconds, as Nakama builds them; zeros omitted."""
    out: dict[str, Any] = {"collection": obj.collection, "key": obj.key, "user_id": obj.user_id, "value": obj.value,
                           "version": obj.version}
    if obj.permission_read:
        out["permission_read"] = obj.permission_read
    if obj.permission_write:
        out["permission_write"] = obj.permission_write
    out["create_time"] = _timestamp(obj.create_time, True)
    out["update_time"] = _timestamp(obj.update_time, True)
    return out


def ack_json(ack: Ack) -> dict[str, Any]:
    """api.StorageObjectAck; times at full precision."""
    return {
        "collection": ack.collection, "key": ack.key, "version": ack.version, "user_id": ack.user_id,
        "create_time": _timestamp(ack.create_time, False), "update_time": _timestamp(ack.update_time, False),
    }


# Reading proto JSON ---------------------------------------------------------------------


def _string(obj: dict[str, Any], name: str, camel: str = "") -> str:
    value = obj.get(name, obj.get(camel) if camel else None)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"Invalid value for string field {name}: {orjson.dumps(value).decode()[:40]}")
    return value


def _int32(obj: dict[str, Any], name: str, camel: str) -> int | None:
    """An Int32Value: a JSON number or a numeric string (protojson accepts both); None if absent."""
    value = obj.get(name, obj.get(camel))
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not -(2**31) <= value < 2**31:
        raise _bad(f"Invalid value for int32 field {name}: {orjson.dumps(value).decode()[:40]}")
    return value


def _objects(payload: dict[str, Any], name: str, camel: str) -> list[dict[str, Any]]:
    items = payload.get(name, payload.get(camel))
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _bad(f"Invalid value for repeated field {name}.")
    return items


def _core(services: Any) -> StorageCore:
    return services.features["storage"]  # type: ignore[no-any-return]


def _valid_user(text: str, allow_nil: bool) -> str:
    value = parse_uuid(text)
    if value is None or (value == NIL and not allow_nil):
        raise _bad(_BAD_USER)
    return value


async def _run_core(call: Awaitable[T], failure: str) -> T:
    """The core's answer; a database that cannot serve is Nakama's 13 with ``failure``."""
    try:
        return await call
    except DatabaseError:
        raise ApiError(Code.INTERNAL, failure) from None


def _ids(payload: dict[str, Any], owner: str | None) -> list[ObjectId]:
    """``object_ids`` of a read (``owner`` None: each names its owner, "" = the server) or of
    a delete (the caller owns them all; each may carry a version)."""
    ids = []
    for item in _objects(payload, "object_ids", "objectIds"):
        collection, key = _string(item, "collection"), _string(item, "key")
        if not collection or not key:
            raise _bad(_BAD_IDS)
        if owner is None:
            user_id = _string(item, "user_id", "userId")
            ids.append(ObjectId(collection, key, _valid_user(user_id, allow_nil=False) if user_id else NIL))
        else:
            ids.append(ObjectId(collection, key, owner, _string(item, "version")))
    return ids


def _write_op(item: dict[str, Any], owner: str) -> WriteOp:
    """One WriteStorageObject, checked in Nakama's order."""
    collection, key, value = _string(item, "collection"), _string(item, "key"), _string(item, "value")
    if not collection or not key or not value:
        raise _bad(_BAD_IDS)
    read = _int32(item, "permission_read", "permissionRead")
    if read is not None and not 0 <= read <= 2:
        raise _bad("Invalid Read permission supplied. It must be either 0, 1 or 2.")
    write = _int32(item, "permission_write", "permissionWrite")
    if write is not None and not 0 <= write <= 1:
        raise _bad("Invalid Write permission supplied. It must be either 0 or 1.")
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise _bad("Value must be a JSON object.")
    return WriteOp(collection, key, owner, value, _string(item, "version"), 1 if read is None else read,
                   1 if write is None else write)


# Handlers -------------------------------------------------------------------------------


@endpoint
async def read_objects(services: Any, request: Request) -> Response:
    """POST /v2/storage (ReadStorageObjects)."""
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "ReadStorageObjects", request, json_object(request), claims)
    objects = await _run_core(_core(services).read(_ids(payload, None), claims.user_id), "Error reading storage objects.")
    body = {"objects": [object_json(o) for o in objects]} if objects else {}
    await after_hook(services, "ReadStorageObjects", request, body, payload, claims)
    return ok(body)


@endpoint
async def write_objects(services: Any, request: Request) -> Response:
    """PUT /v2/storage (WriteStorageObjects)."""
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "WriteStorageObjects", request, json_object(request), claims)
    ops = [_write_op(item, claims.user_id) for item in _objects(payload, "objects", "objects")]
    acks = await _run_core(_core(services).write(ops, claims.user_id), "Error writing storage objects.")
    body = {"acks": [ack_json(a) for a in acks]} if acks else {}
    await after_hook(services, "WriteStorageObjects", request, body, payload, claims)
    return ok(body)


@endpoint
async def delete_objects(services: Any, request: Request) -> Response:
    """PUT /v2/storage/delete (DeleteStorageObjects)."""
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "DeleteStorageObjects", request, json_object(request), claims)
    ids = _ids(payload, claims.user_id)
    await _run_core(_core(services).delete(ids, claims.user_id), "Error deleting storage objects.")
    await after_hook(services, "DeleteStorageObjects", request, {}, payload, claims)
    return ok({})


@endpoint
async def list_objects(services: Any, request: Request) -> Response:
    """GET /v2/storage/{collection}[/{user_id}] (ListStorageObjects); limit defaults to 1 (⚠ Nakama)."""
    claims = authenticate_bearer(services, request)
    payload: dict[str, Any] = {"collection": request.path_params["collection"]}
    user_id = request.path_params.get("user_id") or request.query_one("user_id") or ""
    if user_id:
        payload["user_id"] = user_id
    raw_limit = request.query_one("limit")
    if raw_limit:
        try:
            payload["limit"] = int(raw_limit)
        except ValueError:
            raise _bad(f'parsing field "limit": strconv.ParseInt: parsing "{raw_limit}": invalid syntax') from None
    cursor = request.query_one("cursor") or ""
    if cursor:
        payload["cursor"] = cursor
    payload = await before_hook(services, "ListStorageObjects", request, payload, claims)

    limit = _int32(payload, "limit", "limit")
    if limit is not None and not 1 <= limit <= 100:
        raise _bad("Invalid limit - limit must be between 1 and 100.")
    owner = _string(payload, "user_id", "userId")
    objects, next_cursor = await _run_core(_core(services).list(
        claims.user_id, _valid_user(owner, allow_nil=True) if owner else None, _string(payload, "collection"),
        1 if limit is None else limit, _string(payload, "cursor"),
    ), "Error listing storage objects.")
    body: dict[str, Any] = {"objects": [object_json(o) for o in objects]} if objects else {}
    if next_cursor:
        body["cursor"] = next_cursor
    await after_hook(services, "ListStorageObjects", request, body, payload, claims)
    return ok(body)


ROUTES = [
    Route(("POST",), "/v2/storage", read_objects),
    Route(("PUT",), "/v2/storage", write_objects),
    Route(("PUT",), "/v2/storage/delete", delete_objects),
    Route(("GET",), "/v2/storage/{collection}", list_objects),
    Route(("GET",), "/v2/storage/{collection}/{user_id}", list_objects),
]
