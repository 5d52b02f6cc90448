"""fakesnow's standalone server (Snowflake's REST API over DuckDB) for the Node driver `snowflake-sdk`.

Why this launcher exists: fakesnow 0.12.1 answers every query that is not DML with an Arrow rowset
(`queryResultFormat: arrow`, `rowsetBase64`). Real Snowflake sends Arrow only to drivers that read it (Python,
JDBC, Go); it answers the JavaScript driver, which has no Arrow reader, with a JSON rowset (`rowset`: rows of
strings). Against stock fakesnow the Node driver logs in and runs INSERT/MERGE, but every CREATE/USE/SELECT ends in
"TypeError: Cannot read properties of undefined (reading 'length')" inside the driver (see
docs/notes/issue-15-snowflake.md). So for sessions that logged in as the JavaScript client, and only for them, this
re-encodes fakesnow's Arrow answer as the JSON rowset Snowflake would send. Every statement is still parsed, run and
answered by fakesnow; nothing here interprets SQL. Sessions of other clients (the Python connector that the tests
read back through) get fakesnow's answers untouched.

Usage: python fakesnow_server.py --port N [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import fakesnow.server as fakesnow_server

# Session tokens of logins by the JavaScript driver.
javascript_tokens: set[str] = set()


async def request_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


def response_json(response: Response) -> dict[str, Any]:
    return json.loads(bytes(response.body))


def json_value(value: Any, logical_type: str) -> str | None:
    """One value as Snowflake's JSON rowset carries it (what the Node driver's column converters parse)."""
    if value is None:
        return None
    if logical_type.startswith("TIMESTAMP") or logical_type == "TIME":
        if isinstance(value, dict):
            text = f"{value['epoch']}.{value['fraction']:09d}"
            # TIMESTAMP_TZ carries its offset in minutes + 1440 after a space
            return f"{text} {value['timezone']}" if "timezone" in value else text
        # TIME: nanoseconds since midnight
        seconds, nanos = divmod(int(value), 1_000_000_000)
        return f"{seconds}.{nanos:09d}"
    if logical_type == "DATE":
        return str((value - value.__class__(1970, 1, 1)).days)
    if logical_type == "BOOLEAN":
        return "1" if value else "0"
    if logical_type == "BINARY":
        return bytes(value).hex().upper()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def arrow_to_rowset(rowset_base64: str) -> list[list[str | None]]:
    if not rowset_base64:
        return []
    table = pa.ipc.open_stream(base64.b64decode(rowset_base64)).read_all()
    types = [(field.metadata or {}).get(b"logicalType", b"TEXT").decode() for field in table.schema]
    columns = [column.to_pylist() for column in table.columns]
    return [[json_value(v, t) for v, t in zip(row, types, strict=True)] for row in zip(*columns, strict=True)]


async def login_request(request: Request) -> Response:
    client = (await request_json(request))["data"].get("CLIENT_APP_ID")
    response = await fakesnow_server.login_request(request)
    token = (response_json(response).get("data") or {}).get("token")
    if client == "JavaScript" and token:
        javascript_tokens.add(token)
    return response


async def query_request(request: Request) -> Response:
    response = await fakesnow_server.query_request(request)
    if fakesnow_server.to_token(request) not in javascript_tokens:
        return response
    body = response_json(response)
    data = body.get("data")
    if not body.get("success") or not data:
        return response
    if data.get("queryResultFormat") == "arrow":
        data["rowset"] = arrow_to_rowset(data.pop("rowsetBase64", ""))
        data["queryResultFormat"] = "json"
    # Snowflake says how many rows came inline; fakesnow leaves it out of DML answers, and without it the Node
    # driver never calls back.
    data["returned"] = len(data.get("rowset") or [])
    return JSONResponse(body, status_code=response.status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    wrapped = {"/session/v1/login-request": login_request, "/queries/v1/query-request": query_request}
    for route in fakesnow_server.app.routes:
        if route.path in wrapped:
            route.endpoint = wrapped[route.path]
            route.app = __import__("starlette.routing", fromlist=["request_response"]).request_response(
                wrapped[route.path]
            )
    uvicorn.run(fakesnow_server.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
