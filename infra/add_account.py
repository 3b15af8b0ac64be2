#!/usr/bin/env python3
"""Adds one account to the demo organization, as a team would between two runs.

The account is created untagged (so APN Link Watch sees it as new and unlinked) in an OU given
by its path, and the script prints {"id", "name", "ou_path"} as JSON.

Usage: .venv/bin/python infra/add_account.py --endpoint http://127.0.0.1:PORT
           [--name dev-new-service] [--ou-path Root/Workloads/Dev] [--tag linked]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# Importing the sibling script must not leave a __pycache__ in the work tree.
sys.dont_write_bytecode = True
from seed_demo import TAG_KEY, client  # noqa: E402


def find_ou(org, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] != "Root":
        raise SystemExit(f"add_account: an OU path starts with Root, got {path!r}")
    parent = org.list_roots()["Roots"][0]["Id"]
    for name in parts[1:]:
        children = []
        for page in org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
            children += page["OrganizationalUnits"]
        match = [ou for ou in children if ou["Name"] == name]
        if not match:
            raise SystemExit(f"add_account: no OU {name!r} under {parent} (path {path!r})")
        parent = match[0]["Id"]
    return parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    p.add_argument("--name", default="dev-new-service")
    p.add_argument("--ou-path", default="Root/Workloads/Dev")
    p.add_argument("--tag", help=f"value of the {TAG_KEY} tag; untagged by default")
    args = p.parse_args(argv)
    if not args.endpoint:
        print("add_account: give --endpoint or set AWS_ENDPOINT_URL", file=sys.stderr)
        return 2

    org = client("organizations", args.endpoint, args.region)
    target = find_ou(org, args.ou_path)
    root = org.list_roots()["Roots"][0]["Id"]
    status = org.create_account(
        AccountName=args.name,
        Email=f"aws+{args.name}@example.com",
        Tags=[{"Key": TAG_KEY, "Value": args.tag}] if args.tag else [],
    )["CreateAccountStatus"]
    account_id = status["AccountId"]
    if target != root:
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=target)
    json.dump({"id": account_id, "name": args.name, "ou_path": args.ou_path}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
