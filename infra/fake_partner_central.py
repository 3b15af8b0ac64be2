#!/usr/bin/env python3
"""Fake AWS Partner Central Account API for tests and the demo (stdlib only).

Speaks the protocol the Rust SDK (aws-sdk-partnercentralaccount) uses: awsJson1_0, every call
a `POST /` with `X-Amz-Target: PartnerCentralAccount.<Operation>` and a JSON body. Only the two
read calls APN Link Watch makes are served: ListConnections and ListConnectionInvitations.
Member names and shapes follow the SDK's protocol_serde deserializers; timestamps are ISO 8601
strings because the SDK reads them with the `date-time` format (a number would fail to parse).

Fixture (JSON, re-read on every request so a test can change it between runs):
    {"catalog": "AWS", "page_size": 2, "fail": null,
     "connections": [{"account_id": "111122223333", "status": "ACTIVE"}],
     "invitations": [{"account_id": "444455556666", "status": "PENDING"}]}
Optional extras: "fail_count": N fails only the first N requests (then serves normally), to
exercise the SDK's retries; "leading_empty_page": true answers a first request (no NextToken)
with an empty page that still carries a token, as AWS APIs may; per entry "name",
"updated_at", "id".

Run: python3 infra/fake_partner_central.py --port PORT --fixture FILE --log REQUESTS.jsonl
Prints `ready` on stdout once listening on 127.0.0.1. With --port 0 the kernel picks the port;
--port-file writes it for the caller. Each request appends {"target": ..., "body": ...,
"authorization": ...} to the log (the SigV4 header says which region the request was signed for).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = "PartnerCentralAccount"
LIST_CONNECTIONS = f"{SERVICE}.ListConnections"
LIST_INVITATIONS = f"{SERVICE}.ListConnectionInvitations"
CONTENT_TYPE = "application/x-amz-json-1.0"
DEFAULT_TIME = "2026-11-01T12:00:00Z"

# Error code -> (HTTP status, extra members the SDK's error shape reads).
ERRORS = {
    "AccessDeniedException": (403, {"Reason": "ACCESS_DENIED"}),
    "ThrottlingException": (429, {}),
    "InternalServerException": (500, {}),
    "ValidationException": (400, {"Reason": "REQUEST_VALIDATION_FAILED"}),
    "UnknownOperationException": (400, {}),
    "SerializationException": (400, {}),
}
CONNECTION_STATUSES = {"ACTIVE", "CANCELED"}
INVITATION_STATUSES = {"PENDING", "EXPIRED", "REJECTED", "ACCEPTED", "CANCELED"}
PARTICIPANT_TYPES = {"SENDER", "RECEIVER"}


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def stable_id(prefix: str, *parts: str) -> str:
    """`<prefix>-` + 13 alphanumerics, the documented id pattern (pac-..., pacinv-...)."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()[:13]
    return f"{prefix}-{digest}"


def connection_summary(catalog: str, entry: dict) -> dict:
    account_id = entry["account_id"]
    conn_id = entry.get("id") or stable_id("pac", catalog, "connection", account_id)
    return {
        "Catalog": catalog,
        "Id": conn_id,
        "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{catalog}/connection/{conn_id}",
        "OtherParticipantAccountId": account_id,
        "UpdatedAt": entry.get("updated_at", DEFAULT_TIME),
        "ConnectionTypes": {
            "SUBSIDIARY": {
                "Status": entry["status"],
                "OtherParticipant": {"Account": {"Name": entry.get("name", f"account {account_id}")}},
            }
        },
    }


def invitation_summary(catalog: str, entry: dict) -> dict:
    account_id = entry["account_id"]
    inv_id = entry.get("id") or stable_id("pacinv", catalog, "invitation", account_id)
    out = {
        "Catalog": catalog,
        "Id": inv_id,
        "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{catalog}/connection-invitation/{inv_id}",
        "ConnectionType": "SUBSIDIARY",
        "CreatedAt": entry.get("created_at", DEFAULT_TIME),
        "UpdatedAt": entry.get("updated_at", DEFAULT_TIME),
        "ExpiresAt": entry.get("expires_at", "2026-12-01T12:00:00Z"),
        "OtherParticipantIdentifier": account_id,
        # The primary account sends subsidiary invitations, so it is the sender.
        "ParticipantType": entry.get("participant_type", "SENDER"),
        "Status": entry["status"],
    }
    if entry["status"] == "ACCEPTED":
        out["ConnectionId"] = stable_id("pac", catalog, "connection", account_id)
    return out


def encode_token(target: str, offset: int) -> str:
    raw = json.dumps({"t": target, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(target: str, token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["o"]
        if data["t"] != target or not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError("ValidationException", "The NextToken is invalid or belongs to another operation.")


class Fake:
    def __init__(self, fixture_path: str, log_path: str | None):
        self.fixture_path = fixture_path
        self.log_path = log_path
        self.lock = threading.Lock()
        self.requests = 0

    def fixture(self) -> dict:
        with open(self.fixture_path, encoding="utf-8") as f:
            fx = json.load(f)
        fx.setdefault("catalog", "AWS")
        fx.setdefault("page_size", 2)
        fx.setdefault("fail", None)
        fx.setdefault("connections", [])
        fx.setdefault("invitations", [])
        if fx["fail"] is not None and fx["fail"] not in ERRORS:
            raise ValueError(f"fixture: unknown fail value {fx['fail']!r}; use one of {sorted(ERRORS)}")
        for c in fx["connections"]:
            if c.get("status") not in CONNECTION_STATUSES:
                raise ValueError(f"fixture: connection status must be one of {sorted(CONNECTION_STATUSES)}: {c}")
        for i in fx["invitations"]:
            if i.get("status") not in INVITATION_STATUSES:
                raise ValueError(f"fixture: invitation status must be one of {sorted(INVITATION_STATUSES)}: {i}")
        return fx

    def log(self, target: str, body, authorization: str) -> None:
        if not self.log_path:
            return
        line = json.dumps({"target": target, "body": body, "authorization": authorization}, sort_keys=True)
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def handle(self, target: str, body) -> dict:
        with self.lock:
            self.requests += 1
            n = self.requests
        try:
            fx = self.fixture()
        except (OSError, ValueError) as e:
            # A broken fixture is the test's bug: answer loudly instead of hanging the client.
            raise ApiError("InternalServerException", f"fake Partner Central: bad fixture {self.fixture_path}: {e}")
        fail = fx.get("fail")
        if fail:
            limit = fx.get("fail_count")
            if limit is None or n <= int(limit):
                raise ApiError(fail, f"Injected {fail} by the fake Partner Central fixture.")

        if target not in (LIST_CONNECTIONS, LIST_INVITATIONS):
            raise ApiError("UnknownOperationException", f"The fake serves only ListConnections and ListConnectionInvitations, not {target!r}.")
        if not isinstance(body, dict):
            raise ApiError("SerializationException", "The request body must be a JSON object.")

        catalog = body.get("Catalog")
        if catalog != fx["catalog"]:
            raise ApiError("ValidationException", f"Catalog must be {fx['catalog']!r} for this partner, got {catalog!r}.")
        if body.get("ConnectionType") != "SUBSIDIARY":
            raise ApiError("ValidationException", f"ConnectionType must be 'SUBSIDIARY', got {body.get('ConnectionType')!r}.")

        page = int(fx["page_size"])
        max_results = body.get("MaxResults")
        if max_results is not None:
            if not isinstance(max_results, int) or not 1 <= max_results <= 100:
                raise ApiError("ValidationException", "MaxResults must be between 1 and 100.")
            page = min(page, max_results)
        out_key = "ConnectionSummaries" if target == LIST_CONNECTIONS else "ConnectionInvitationSummaries"
        if not body.get("NextToken") and fx.get("leading_empty_page"):
            return {out_key: [], "NextToken": encode_token(target, 0)}
        offset = decode_token(target, body["NextToken"]) if body.get("NextToken") else 0

        wanted_ids = body.get("OtherParticipantIdentifiers")
        if target == LIST_CONNECTIONS:
            items = list(fx["connections"])
        else:
            items = list(fx["invitations"])
            status = body.get("Status")
            if status is not None:
                if status not in INVITATION_STATUSES:
                    raise ApiError("ValidationException", f"Status must be one of {sorted(INVITATION_STATUSES)}, got {status!r}.")
                items = [i for i in items if i["status"] == status]
            ptype = body.get("ParticipantType")
            if ptype is not None:
                if ptype not in PARTICIPANT_TYPES:
                    raise ApiError("ValidationException", f"ParticipantType must be SENDER or RECEIVER, got {ptype!r}.")
                items = [i for i in items if i.get("participant_type", "SENDER") == ptype]
        if wanted_ids:
            items = [i for i in items if i["account_id"] in wanted_ids]

        chunk = items[offset : offset + page]
        render = connection_summary if target == LIST_CONNECTIONS else invitation_summary
        out = {out_key: [render(fx["catalog"], e) for e in chunk]}
        if offset + page < len(items):
            out["NextToken"] = encode_token(target, offset + page)
        return out


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, like the real endpoint: the SDK pools connections.
    protocol_version = "HTTP/1.1"
    fake: Fake

    def log_message(self, fmt, *args):  # quiet: the JSON-lines log is the record
        pass

    def send_json(self, status: int, payload: dict, error_code: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_code:
            self.send_header("x-amzn-ErrorType", error_code)
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, code: str, message: str) -> None:
        status, extra = ERRORS[code]
        # "message" is what the SDK's error metadata reads, "Message" the modeled member.
        self.send_json(status, {"__type": code, "message": message, "Message": message, **extra}, code)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.fake.log(target, body, self.headers.get("Authorization", ""))
        try:
            if self.path.split("?")[0] != "/":
                raise ApiError("UnknownOperationException", f"awsJson1_0 posts to /, not {self.path}.")
            if isinstance(body, str):
                raise ApiError("SerializationException", "The request body is not JSON.")
            self.send_json(200, self.fake.handle(target, body))
        except ApiError as e:
            self.send_error_json(e.code, e.message)

    def do_GET(self):
        self.send_error_json("UnknownOperationException", "awsJson1_0 accepts only POST /.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True, help="port on 127.0.0.1; 0 lets the kernel pick")
    p.add_argument("--fixture", required=True, help="fixture JSON file, re-read on every request")
    p.add_argument("--log", help="append one JSON line per request to this file")
    p.add_argument("--port-file", help="write the bound port here (useful with --port 0)")
    args = p.parse_args(argv)

    fake = Fake(args.fixture, args.log)
    try:
        fake.fixture()  # fail fast on a bad fixture
    except (OSError, ValueError) as e:
        print(f"fake_partner_central: {e}", file=sys.stderr)
        return 2
    handler = type("BoundHandler", (Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as f:
            f.write(f"{server.server_address[1]}\n")
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
