#!/usr/bin/env python3
"""Fast fake AWS Organizations endpoint for scale benchmarks (stdlib only).

moto slows to ~40 requests/s at a few thousand accounts, so a 10,000-account run against it
measures moto. This server answers the read calls APN Link Watch's walk makes, from a
generated organization held in memory, in microseconds (plus an optional injected latency):

    DescribeOrganization, ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent,
    ListAccounts (with `Paths` when --paths), ListTagsForResource, DescribeAccount,
    DescribeOrganizationalUnit

Protocol: awsJson1_1 as the Rust SDK speaks it: `POST /`, `X-Amz-Target:
AWSOrganizationsV20161128.<Operation>`, JSON bodies, timestamps as epoch seconds, errors as
`{"__type": "<Code>", "Message": ...}` with HTTP 400 (the SDK reads the code from `__type`).
Pages hold at most 20 entries (`MaxResults` may ask for fewer), the documented maximum for
these list calls, so the client paginates as it must against AWS.

The organization comes from a seed, so every run of a benchmark sees the same tree:
`--accounts N --ous M` (OUs up to 5 levels deep), a third of the accounts tagged
`apn-link=linked`, a few `apn-link=exempt`.

Fault and load injection:
  --latency-ms MS   sleep this long before answering each request (AWS-like round trips);
  --rate R          at most R requests/s overall (token bucket, burst R); requests above it get
                    `TooManyRequestsException` (HTTP 400, Type "TooManyRequests"), as
                    Organizations throttles.

Control (for "a run after one new account" and for reading the counts):
  GET  /_stats             {"requests": {"ListRoots": 1, ...}, "throttled": N}
  POST /_stats/reset       zeroes the counters
  POST /_accounts          {"parent_id": "...", "name": "...", "tags": {"k": "v"}} adds an account
  POST /_tags              {"account_id": "...", "tags": {"k": "v"}} replaces an account's tags
  POST /_ous               {"parent_id": "...", "name": "..."} creates an OU ({"ou_id": ...})
  POST /_ous/rename        {"ou_id": "...", "name": "..."} renames an OU (UpdateOrganizationalUnit)
  POST /_ous/delete        {"ou_id": "..."} deletes an empty OU (DeleteOrganizationalUnit)
  POST /_move              {"account_id": "...", "parent_id": "..."} moves an account (MoveAccount)
  POST /_config            {"rate": R, "latency_ms": MS, "paths": bool} changes the injection while serving (a
                           benchmark throttles the same organization it has already snapshotted);
                           {"stale_path": "<account id>"}: `ListAccounts` shows that account under an OU
                           no listing has, as when its OU was deleted (the account moved out) between
                           the walk's `ListAccounts` and its OU listing; null turns it off

Run: python3 infra/fake_organizations.py --port 0 --port-file F [--accounts 10000 --ous 1000]
Prints `ready <port>` on stdout once listening on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET_PREFIX = "AWSOrganizationsV20161128."
CONTENT_TYPE = "application/x-amz-json-1.1"
PAGE_MAX = 20
TAG_KEY = "apn-link"
# OUs per depth (1..5) as a share of all OUs: most organizations are wide near the top.
LEVEL_SHARE = [0.1, 0.2, 0.3, 0.24, 0.16]
JOINED_BASE = 1_700_000_000


class ApiError(Exception):
    def __init__(self, code: str, message: str, extra: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}


class Organization:
    """A generated organization: root, OUs up to 5 deep, accounts spread over every parent."""

    def __init__(self, seed: int, n_accounts: int, n_ous: int):
        rng = random.Random(seed)
        self.lock = threading.Lock()
        self.org_id = "o-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
        self.root_id = "r-" + self.org_id[2:6]
        self.management = "100000000000"
        # parent id -> child OU ids / account ids, in creation order
        self.child_ous: dict[str, list[str]] = {self.root_id: []}
        self.child_accounts: dict[str, list[str]] = {self.root_id: []}
        self.ous: dict[str, dict] = {}
        self.accounts: dict[str, dict] = {}
        self.paths: dict[str, str] = {self.root_id: f"{self.org_id}/{self.root_id}/"}

        counts = [max(1, round(n_ous * s)) for s in LEVEL_SHARE] if n_ous else [0] * 5
        if n_ous:
            counts[-1] = max(0, n_ous - sum(counts[:-1]))
        level = [self.root_id]
        all_parents = [self.root_id]
        for depth, count in enumerate(counts, start=1):
            nxt = []
            for i in range(count):
                parent = level[i % len(level)]
                ou_id = f"ou-{self.root_id[2:]}-{len(self.ous):08x}"
                self._add_ou(parent, ou_id, f"ou-d{depth}-{i:04d}")
                nxt.append(ou_id)
            if nxt:
                level = nxt
                all_parents.extend(nxt)

        self._add_account(self.root_id, self.management, "management", {}, rng)
        for i in range(max(0, n_accounts - 1)):
            parent = all_parents[rng.randrange(len(all_parents))]
            tags = {}
            if i % 3 == 0:
                tags[TAG_KEY] = "linked"
            elif i % 97 == 0:
                tags[TAG_KEY] = "exempt"
            self._add_account(parent, f"{200000000000 + i:012d}", f"acct-{i:05d}", tags, rng)

    def _add_ou(self, parent: str, ou_id: str, name: str) -> None:
        self.ous[ou_id] = {"Id": ou_id, "Name": name, "parent": parent}
        self.child_ous[parent].append(ou_id)
        self.child_ous[ou_id] = []
        self.child_accounts[ou_id] = []
        self.paths[ou_id] = f"{self.paths[parent]}{ou_id}/"

    def _add_account(self, parent: str, account_id: str, name: str, tags: dict, rng) -> dict:
        acct = {
            "Id": account_id,
            "Arn": f"arn:aws:organizations::{self.management}:account/{self.org_id}/{account_id}",
            "Email": f"aws+{name}@example.com",
            "Name": name,
            "State": "ACTIVE",
            "JoinedMethod": "INVITED" if account_id == self.management else "CREATED",
            "JoinedTimestamp": JOINED_BASE + rng.randrange(10_000_000),
            "parent": parent,
            "tags": tags,
        }
        self.accounts[account_id] = acct
        self.child_accounts[parent].append(account_id)
        return acct

    def add_account(self, parent: str, name: str, tags: dict) -> dict:
        with self.lock:
            if parent not in self.child_accounts:
                raise ApiError("ParentNotFoundException", f"no parent {parent}")
            account_id = f"{300000000000 + len(self.accounts):012d}"
            return self._add_account(parent, account_id, name, tags, random.Random(account_id))

    def add_ou(self, parent: str, name: str) -> str:
        with self.lock:
            if parent not in self.child_ous:
                raise ApiError("ParentNotFoundException", f"no parent {parent}")
            ou_id = f"ou-{self.root_id[2:]}-{0x80000000 + len(self.ous):08x}"
            self._add_ou(parent, ou_id, name)
            return ou_id

    def rename_ou(self, ou_id: str, name: str) -> None:
        with self.lock:
            if ou_id not in self.ous:
                raise ApiError("OrganizationalUnitNotFoundException", f"no OU {ou_id}")
            self.ous[ou_id]["Name"] = name

    def delete_ou(self, ou_id: str) -> None:
        with self.lock:
            if ou_id not in self.ous:
                raise ApiError("OrganizationalUnitNotFoundException", f"no OU {ou_id}")
            if self.child_ous[ou_id] or self.child_accounts[ou_id]:
                raise ApiError("OrganizationalUnitNotEmptyException", f"{ou_id} is not empty")
            parent = self.ous.pop(ou_id)["parent"]
            self.child_ous[parent].remove(ou_id)
            for d in (self.child_ous, self.child_accounts, self.paths):
                d.pop(ou_id)

    def move_account(self, account_id: str, parent: str) -> None:
        with self.lock:
            acct = self.accounts.get(account_id)
            if acct is None:
                raise ApiError("AccountNotFoundException", f"no account {account_id}")
            if parent not in self.child_accounts:
                raise ApiError("DestinationParentNotFoundException", f"no parent {parent}")
            self.child_accounts[acct["parent"]].remove(account_id)
            self.child_accounts[parent].append(account_id)
            acct["parent"] = parent

    def account_view(self, acct: dict, with_paths: bool) -> dict:
        view = {k: v for k, v in acct.items() if k not in ("parent", "tags")}
        if with_paths:
            view["Paths"] = [f"{self.paths[acct['parent']]}{acct['Id']}/"]
        return view


def page(items: list, body: dict, render) -> dict:
    """One page of `items` after the opaque token in the request; the token is the offset."""
    limit = body.get("MaxResults") or PAGE_MAX
    if not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise ApiError("InvalidInputException", f"MaxResults must be 1..{PAGE_MAX}", {"Reason": "INVALID_INPUT"})
    token = body.get("NextToken")
    start = 0
    if token is not None:
        try:
            start = int(token.removeprefix("tok-"))
        except (AttributeError, ValueError):
            raise ApiError("InvalidInputException", "bad NextToken", {"Reason": "INVALID_NEXT_TOKEN"})
    chunk = items[start : start + limit]
    out = {"items": [render(x) for x in chunk]}
    if start + limit < len(items):
        out["NextToken"] = f"tok-{start + limit}"
    return out


class TokenBucket:
    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class State:
    def __init__(self, org: Organization, args):
        self.org = org
        self.with_paths = args.paths
        self.latency = args.latency_ms / 1000.0
        self.bucket = TokenBucket(args.rate) if args.rate else None
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.throttled = 0
        self.stale_path: str | None = None

    def count(self, op: str) -> None:
        with self.lock:
            self.requests[op] = self.requests.get(op, 0) + 1

    def call(self, op: str, body: dict) -> dict:
        org = self.org
        if op == "DescribeOrganization":
            return {
                "Organization": {
                    "Id": org.org_id,
                    "Arn": f"arn:aws:organizations::{org.management}:organization/{org.org_id}",
                    "FeatureSet": "ALL",
                    "MasterAccountId": org.management,
                    "MasterAccountArn": f"arn:aws:organizations::{org.management}:account/{org.org_id}/{org.management}",
                    "MasterAccountEmail": "aws+management@example.com",
                }
            }
        if op == "ListRoots":
            root = {"Id": org.root_id, "Arn": f"arn:aws:organizations::{org.management}:root/{org.org_id}/{org.root_id}",
                    "Name": "Root", "PolicyTypes": []}
            p = page([root], body, lambda r: r)
            return {"Roots": p["items"], **({"NextToken": p["NextToken"]} if "NextToken" in p else {})}
        if op == "ListOrganizationalUnitsForParent":
            parent = self.parent(body)
            p = page(list(org.child_ous[parent]), body, lambda ou_id: {
                "Id": ou_id, "Name": org.ous[ou_id]["Name"],
                "Arn": f"arn:aws:organizations::{org.management}:ou/{org.org_id}/{ou_id}"})
            return {"OrganizationalUnits": p["items"], **({"NextToken": p["NextToken"]} if "NextToken" in p else {})}
        if op == "ListAccountsForParent":
            parent = self.parent(body)
            p = page(list(org.child_accounts[parent]), body,
                     lambda a: org.account_view(org.accounts[a], False))
            return {"Accounts": p["items"], **({"NextToken": p["NextToken"]} if "NextToken" in p else {})}
        if op == "ListAccounts":
            p = page(list(org.accounts), body, lambda a: self.listed_account(a))
            return {"Accounts": p["items"], **({"NextToken": p["NextToken"]} if "NextToken" in p else {})}
        if op == "DescribeAccount":
            acct = org.accounts.get(body.get("AccountId", ""))
            if acct is None:
                raise ApiError("AccountNotFoundException", "no such account")
            return {"Account": org.account_view(acct, self.with_paths)}
        if op == "DescribeOrganizationalUnit":
            ou = org.ous.get(body.get("OrganizationalUnitId", ""))
            if ou is None:
                raise ApiError("OrganizationalUnitNotFoundException", "no such OU")
            return {"OrganizationalUnit": {
                "Id": ou["Id"], "Name": ou["Name"],
                "Arn": f"arn:aws:organizations::{org.management}:ou/{org.org_id}/{ou['Id']}"}}
        if op == "ListTagsForResource":
            rid = body.get("ResourceId", "")
            if rid in org.accounts:
                tags = org.accounts[rid]["tags"]
            elif rid in org.ous or rid == org.root_id:
                tags = {}
            else:
                raise ApiError("TargetNotFoundException", f"no resource {rid}")
            p = page(sorted(tags.items()), body, lambda kv: {"Key": kv[0], "Value": kv[1]})
            return {"Tags": p["items"], **({"NextToken": p["NextToken"]} if "NextToken" in p else {})}
        raise ApiError("UnknownOperationException", f"{op} is not served by this fake")

    def listed_account(self, account_id: str) -> dict:
        view = self.org.account_view(self.org.accounts[account_id], self.with_paths)
        if self.with_paths and account_id == self.stale_path:
            org = self.org
            view["Paths"] = [f"{org.paths[org.root_id]}ou-gone-00000000/{account_id}/"]
        return view

    def parent(self, body: dict) -> str:
        parent = body.get("ParentId", "")
        if parent not in self.org.child_accounts:
            raise ApiError("ParentNotFoundException", f"We can't find a root or OU with the ParentId {parent}.")
        return parent


def make_handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):  # quiet: a benchmark makes thousands of requests
            pass

        def reply(self, status: int, payload: dict, content_type: str = CONTENT_TYPE) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "fake-organizations")
            self.end_headers()
            self.wfile.write(data)

        def read_body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            return json.loads(raw or b"{}")

        def do_GET(self):
            if self.path == "/_stats":
                with state.lock:
                    self.reply(200, {"requests": dict(state.requests), "throttled": state.throttled,
                                     "accounts": len(state.org.accounts), "ous": len(state.org.ous),
                                     "organization_id": state.org.org_id, "root_id": state.org.root_id},
                               "application/json")
            else:
                self.reply(404, {"message": "not found"}, "application/json")

        def do_POST(self):
            try:
                body = self.read_body()
            except ValueError:
                self.reply(400, {"__type": "SerializationException", "Message": "body is not JSON"})
                return
            if self.path == "/_stats/reset":
                with state.lock:
                    state.requests.clear()
                    state.throttled = 0
                self.reply(200, {}, "application/json")
                return
            if self.path == "/_config":
                if "rate" in body:
                    state.bucket = TokenBucket(float(body["rate"])) if body["rate"] else None
                if "paths" in body:
                    state.with_paths = bool(body["paths"])
                if "latency_ms" in body:
                    state.latency = float(body["latency_ms"]) / 1000.0
                if "stale_path" in body:
                    state.stale_path = body["stale_path"]
                self.reply(200, {}, "application/json")
                return
            if self.path == "/_accounts":
                try:
                    acct = state.org.add_account(body["parent_id"], body["name"], body.get("tags", {}))
                except (KeyError, ApiError) as e:
                    self.reply(400, {"message": str(e)}, "application/json")
                    return
                self.reply(200, {"account_id": acct["Id"]}, "application/json")
                return
            if self.path in ("/_ous", "/_ous/rename", "/_ous/delete", "/_move"):
                org = state.org
                try:
                    out = {}
                    if self.path == "/_ous":
                        out["ou_id"] = org.add_ou(body["parent_id"], body["name"])
                    elif self.path == "/_ous/rename":
                        org.rename_ou(body["ou_id"], body["name"])
                    elif self.path == "/_ous/delete":
                        org.delete_ou(body["ou_id"])
                    else:
                        org.move_account(body["account_id"], body["parent_id"])
                except (KeyError, ApiError) as e:
                    self.reply(400, {"message": str(e)}, "application/json")
                    return
                self.reply(200, out, "application/json")
                return
            if self.path == "/_tags":
                with state.org.lock:
                    acct = state.org.accounts.get(body.get("account_id"))
                    if acct is None:
                        self.reply(400, {"message": "no such account"}, "application/json")
                        return
                    acct["tags"] = dict(body.get("tags", {}))
                self.reply(200, {}, "application/json")
                return
            target = self.headers.get("X-Amz-Target", "")
            if not target.startswith(TARGET_PREFIX):
                self.reply(400, {"__type": "UnknownOperationException", "Message": f"bad target {target!r}"})
                return
            op = target[len(TARGET_PREFIX):]
            if state.latency:
                time.sleep(state.latency)
            if state.bucket and not state.bucket.take():
                with state.lock:
                    state.throttled += 1
                self.reply(400, {"__type": "TooManyRequestsException", "Type": "TooManyRequests",
                                 "Message": "AWS Organizations can't complete your request because another request is already in progress. Try again later."})
                return
            state.count(op)
            try:
                self.reply(200, state.call(op, body))
            except ApiError as e:
                self.reply(400, {"__type": e.code, "Message": e.message, **e.extra})

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--accounts", type=int, default=300)
    ap.add_argument("--ous", type=int, default=30)
    ap.add_argument("--paths", action="store_true", help="ListAccounts returns Paths")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--rate", type=float, default=0.0, help="requests/s before throttling (0: none)")
    args = ap.parse_args()

    state = State(Organization(args.seed, args.accounts, args.ous), args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(port))
    print(f"ready {port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
