#!/usr/bin/env python3
"""Fake AWS Partner Central Account API for tests and the demo (stdlib only).

Speaks the protocol the Rust SDK (aws-sdk-partnercentralaccount) uses: awsJson1_0, every call
a `POST /` with `X-Amz-Target: PartnerCentralAccount.<Operation>` and a JSON body. Served:
ListConnections, ListConnectionInvitations (SENDER and RECEIVER views), and the invitation
loop: CreateConnectionInvitation, GetConnectionInvitation, AcceptConnectionInvitation.
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

Who calls: the access key in the SigV4 `Authorization` header. With "sts_url" (moto) in the
fixture, the fake asks moto's STS GetCallerIdentity for that key (moto does not check
signatures and maps the keys its AssumeRole hands out to the role's account), so a request
signed with credentials of the accept role in member account X is X's request; every other
request is the primary account's ("primary_account_id", default moto's 123456789012).
Invitations the primary creates live in the fake's memory: listed for the primary as
SENDER and for the receiving member as RECEIVER; accepting one makes an ACTIVE SUBSIDIARY
connection that ListConnections returns to the primary.

Failure injection (fixture): "refuse_receivers": {"444455556666": "RECEIVER_PROFILE_NOT_FOUND"}
(or INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER, a ConflictException) refuses invitations
to that account; "invites_per_day": N answers ServiceQuotaExceededException
LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY after N created invitations;
"throttle": ["CreateConnectionInvitation"] throttles every call of those operations;
"deny_accounts": ["444455556666"] answers AccessDeniedException to that member's calls (its
accept role lacks the permissions); "slow": {"CreateConnectionInvitation": 30} answers those
operations only after that many seconds (a hung endpoint).

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
import re
import sys
import urllib.request
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = "PartnerCentralAccount"
LIST_CONNECTIONS = f"{SERVICE}.ListConnections"
LIST_INVITATIONS = f"{SERVICE}.ListConnectionInvitations"
CREATE_INVITATION = f"{SERVICE}.CreateConnectionInvitation"
GET_INVITATION = f"{SERVICE}.GetConnectionInvitation"
ACCEPT_INVITATION = f"{SERVICE}.AcceptConnectionInvitation"
DEFAULT_PRIMARY = "123456789012"  # moto's default account: the caller of the "test" key
CONTENT_TYPE = "application/x-amz-json-1.0"
DEFAULT_TIME = "2026-11-01T12:00:00Z"

# Error code -> (HTTP status, extra members the SDK's error shape reads).
ERRORS = {
    "AccessDeniedException": (403, {"Reason": "ACCESS_DENIED"}),
    "ThrottlingException": (429, {}),
    "InternalServerException": (500, {}),
    "ValidationException": (400, {"Reason": "REQUEST_VALIDATION_FAILED"}),
    "ConflictException": (409, {"Reason": "DUPLICATE_CONNECTION_INVITATION"}),
    "ResourceNotFoundException": (404, {"Reason": "CONNECTION_INVITATION_NOT_FOUND"}),
    "ServiceQuotaExceededException": (402, {"Reason": "LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY"}),
    "UnknownOperationException": (400, {}),
    "SerializationException": (400, {}),
}
CONNECTION_STATUSES = {"ACTIVE", "CANCELED"}
INVITATION_STATUSES = {"PENDING", "EXPIRED", "REJECTED", "ACCEPTED", "CANCELED"}
PARTICIPANT_TYPES = {"SENDER", "RECEIVER"}


class ApiError(Exception):
    def __init__(self, code: str, message: str, reason: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


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
        # Invitations created through the API, in creation order; by ClientToken for retries.
        self.created: list[dict] = []
        self.by_token: dict[str, dict] = {}
        self.callers: dict[str, str] = {}

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
        with self.lock:
            key = re.search(r"Credential=([^/]+)/", authorization or "")
            caller = self.callers.get(key.group(1)) if key else None
        line = json.dumps({"target": target, "body": body, "authorization": authorization, "caller": caller}, sort_keys=True)
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def caller(self, fx: dict, authorization: str) -> str:
        """The account whose credentials signed the request (see the module doc)."""
        primary = fx.get("primary_account_id", DEFAULT_PRIMARY)
        m = re.search(r"Credential=([^/]+)/", authorization or "")
        sts_url = fx.get("sts_url")
        if not m or not sts_url:
            return primary
        key = m.group(1)
        with self.lock:
            if key in self.callers:
                return self.callers[key]
        req = urllib.request.Request(
            sts_url.rstrip("/") + "/",
            data=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                text = resp.read().decode()
        except OSError as e:
            raise ApiError("InternalServerException", f"fake Partner Central: cannot ask moto who {key} is: {e}")
        found = re.search(r"<Account>(\d{12})</Account>", text)
        account = found.group(1) if found else primary
        with self.lock:
            self.callers[key] = account
        return account

    def invitation_view(self, fx: dict, inv: dict, caller: str) -> dict:
        primary = fx.get("primary_account_id", DEFAULT_PRIMARY)
        sender_view = caller == primary
        out = {
            "Catalog": fx["catalog"],
            "Id": inv["id"],
            "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{fx['catalog']}/connection-invitation/{inv['id']}",
            "ConnectionType": "SUBSIDIARY",
            "CreatedAt": inv["created_at"],
            "UpdatedAt": inv["updated_at"],
            "ExpiresAt": "2026-12-31T12:00:00Z",
            "OtherParticipantIdentifier": inv["account_id"] if sender_view else primary,
            "ParticipantType": "SENDER" if sender_view else "RECEIVER",
            "Status": inv["status"],
            "InvitationMessage": inv["message"],
            "InviterEmail": inv["email"],
            "InviterName": inv["name"],
        }
        if inv["status"] == "ACCEPTED":
            out["ConnectionId"] = inv["connection_id"]
        return out

    def create_invitation(self, fx: dict, body: dict, caller: str) -> dict:
        primary = fx.get("primary_account_id", DEFAULT_PRIMARY)
        if caller != primary:
            raise ApiError("AccessDeniedException", f"Account {caller} is not the partner's primary account.")
        token = body.get("ClientToken")
        if not isinstance(token, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token):
            raise ApiError("ValidationException", "ClientToken must be 1 to 64 of [A-Za-z0-9-_].")
        for key, limit in (("Email", 320), ("Message", 256), ("Name", 80)):
            v = body.get(key)
            if not isinstance(v, str) or not 1 <= len(v) <= limit:
                raise ApiError("ValidationException", f"{key} must be 1 to {limit} characters.")
        receiver = body.get("ReceiverIdentifier")
        if not isinstance(receiver, str) or not re.fullmatch(r"\d{12}", receiver):
            raise ApiError("ValidationException", "ReceiverIdentifier must be an account id.")
        with self.lock:
            known = self.by_token.get(token)
            if known is not None:
                if known["account_id"] != receiver:
                    raise ApiError("ConflictException", "ClientToken was used with other parameters.", "CONFLICT_CLIENT_TOKEN")
                return self.invitation_view(fx, known, caller)
            refused = (fx.get("refuse_receivers") or {}).get(receiver)
            if refused:
                code = "ConflictException" if refused.startswith("INCOMPATIBLE") else "ResourceNotFoundException"
                raise ApiError(code, f"Account {receiver} cannot receive this invitation.", refused)
            per_day = fx.get("invites_per_day")
            if per_day is not None and len(self.created) >= int(per_day):
                raise ApiError("ServiceQuotaExceededException", "Daily connection invitation quota exceeded.",
                               "LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY")
            if any(i["account_id"] == receiver and i["status"] == "PENDING" for i in self.created):
                raise ApiError("ConflictException", f"A pending invitation to {receiver} exists.", "DUPLICATE_CONNECTION_INVITATION")
            inv = {
                "id": stable_id("pacinv", fx["catalog"], "created", receiver, token),
                "account_id": receiver,
                "status": "PENDING",
                "token": token,
                "created_at": DEFAULT_TIME,
                "updated_at": DEFAULT_TIME,
                "message": body["Message"],
                "email": body["Email"],
                "name": body["Name"],
            }
            self.created.append(inv)
            self.by_token[token] = inv
            return self.invitation_view(fx, inv, caller)

    def fixture_invitations(self, fx: dict) -> list[dict]:
        """The fixture's SUBSIDIARY invitations not yet taken over by the API (see below)."""
        taken = {i["id"] for i in self.created}
        out = []
        for e in fx["invitations"]:
            inv_id = e.get("id") or stable_id("pacinv", fx["catalog"], "invitation", e["account_id"])
            if inv_id not in taken:
                out.append({**e, "id": inv_id})
        return out

    def find_invitation(self, fx: dict, body: dict, caller: str, primary: str) -> dict:
        ident = body.get("Identifier")
        if not isinstance(ident, str) or not re.fullmatch(r"pacinv-[A-Za-z0-9]{13}", ident):
            raise ApiError("ValidationException", "Identifier must match pacinv-[A-Za-z0-9]{13}.")
        for inv in self.created:
            if inv["id"] == ident and caller in (primary, inv["account_id"]):
                return inv
        # A fixture invitation (one a person sent) becomes API state when first read by id,
        # so accepting it is remembered like accepting a created one.
        for e in self.fixture_invitations(fx):
            if e["id"] == ident and caller in (primary, e["account_id"]):
                inv = {"id": e["id"], "account_id": e["account_id"], "status": e["status"], "token": None,
                       "created_at": e.get("created_at", DEFAULT_TIME), "updated_at": e.get("updated_at", DEFAULT_TIME),
                       "message": "Please accept.", "email": "partner@example.com", "name": "Partner"}
                self.created.append(inv)
                return inv
        raise ApiError("ResourceNotFoundException", f"Invitation {ident} not found.", "CONNECTION_INVITATION_NOT_FOUND")

    def accept_invitation(self, fx: dict, body: dict, caller: str) -> dict:
        primary = fx.get("primary_account_id", DEFAULT_PRIMARY)
        with self.lock:
            inv = self.find_invitation(fx, body, caller, primary)
            if inv["account_id"] != caller:
                raise ApiError("AccessDeniedException", "Only the receiver accepts an invitation.")
            if inv["status"] == "PENDING":
                inv["status"] = "ACCEPTED"
                inv["accept_token"] = body.get("ClientToken")
                inv["connection_id"] = stable_id("pac", fx["catalog"], "connection", caller)
            elif inv["status"] != "ACCEPTED" or inv.get("accept_token") != body.get("ClientToken"):
                raise ApiError("ConflictException", f"Invitation is {inv['status']}.", "INCOMPATIBLE_CONNECTION_INVITATION_STATE")
            conn = connection_summary(fx["catalog"], {"account_id": primary, "status": "ACTIVE"})
            conn["Id"] = inv["connection_id"]
            sub = conn["ConnectionTypes"]["SUBSIDIARY"]
            sub.update({"CreatedAt": DEFAULT_TIME, "InviterEmail": inv["email"], "InviterName": inv["name"]})
            return {"Connection": conn}

    def handle(self, target: str, body, authorization: str = "") -> dict:
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

        known = (LIST_CONNECTIONS, LIST_INVITATIONS, CREATE_INVITATION, GET_INVITATION, ACCEPT_INVITATION)
        if target not in known:
            raise ApiError("UnknownOperationException", f"The fake does not serve {target!r}.")
        if not isinstance(body, dict):
            raise ApiError("SerializationException", "The request body must be a JSON object.")
        delay = (fx.get("slow") or {}).get(target.split(".")[-1])
        if delay:
            time.sleep(float(delay))
        if target.split(".")[-1] in (fx.get("throttle") or []):
            raise ApiError("ThrottlingException", "Rate exceeded (injected by the fixture).")
        caller = self.caller(fx, authorization)
        if caller in (fx.get("deny_accounts") or []):
            raise ApiError("AccessDeniedException", f"The role in account {caller} is not allowed to call {target.split('.')[-1]}.", "ACCESS_DENIED")
        primary = fx.get("primary_account_id", DEFAULT_PRIMARY)

        catalog = body.get("Catalog")
        if catalog != fx["catalog"]:
            raise ApiError("ValidationException", f"Catalog must be {fx['catalog']!r} for this partner, got {catalog!r}.")
        if target == CREATE_INVITATION:
            if body.get("ConnectionType") != "SUBSIDIARY":
                raise ApiError("ValidationException", "The fake invites only SUBSIDIARY connections.")
            return self.create_invitation(fx, body, caller)
        if target == ACCEPT_INVITATION:
            return self.accept_invitation(fx, body, caller)
        if target == GET_INVITATION:
            with self.lock:
                return self.invitation_view(fx, self.find_invitation(fx, body, caller, primary), caller)
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
        with self.lock:
            created = [dict(i) for i in self.created]
            from_fixture = self.fixture_invitations(fx)
        if target == LIST_CONNECTIONS:
            items = list(fx["connections"]) if caller == primary else []
            items += [{"account_id": i["account_id"], "status": "ACTIVE", "id": i["connection_id"]}
                      for i in created if i["status"] == "ACCEPTED" and caller == primary]
        else:
            if caller == primary:
                items = from_fixture
                items += [{"account_id": i["account_id"], "status": i["status"], "id": i["id"],
                           "participant_type": "SENDER"} for i in created]
            else:
                # The member's view: what it received from the primary.
                items = [{"account_id": primary, "status": i["status"], "id": i["id"],
                          "participant_type": "RECEIVER"} for i in created if i["account_id"] == caller]
                items += [{**e, "account_id": primary, "participant_type": "RECEIVER"}
                          for e in from_fixture if e["account_id"] == caller]
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

    def send_error_json(self, code: str, message: str, reason: str | None = None) -> None:
        status, extra = ERRORS[code]
        extra = dict(extra)
        if reason:
            extra["Reason"] = reason
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
        authorization = self.headers.get("Authorization", "")
        try:
            if self.path.split("?")[0] != "/":
                raise ApiError("UnknownOperationException", f"awsJson1_0 posts to /, not {self.path}.")
            if isinstance(body, str):
                raise ApiError("SerializationException", "The request body is not JSON.")
            out = self.fake.handle(target, body, authorization)
            self.fake.log(target, body, authorization)
            self.send_json(200, out)
        except ApiError as e:
            # Logged after the caller is known, so the log says whose request it was.
            self.fake.log(target, body, authorization)
            self.send_error_json(e.code, e.message, e.reason)

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
