#!/usr/bin/env python3
"""Seeds a demo AWS Organization into moto (or any Organizations endpoint you point it at).

Layout (19 accounts plus the management account):
    Root                      shared-services, network
    Root/Workloads/Prod       checkout, catalog, search, payments-api (tagged linked), ...
    Root/Workloads/Prod/Payments
    Root/Workloads/Dev        dev accounts, one linked through Partner Central, one canceled, one pending
    Root/Sandbox              sandboxes: the demo exempts this OU with APNWATCH_EXEMPT_OUS
    Root/Security             log-archive (tagged linked), audit (tagged exempt)

Prints one JSON document on stdout with the ids the demo needs; with --fixture it also writes a
fake Partner Central fixture: one ACTIVE connection, one CANCELED connection and one PENDING
invitation for three untagged demo accounts.

Usage: .venv/bin/python infra/seed_demo.py --endpoint http://127.0.0.1:PORT [--fixture FILE]
The endpoint defaults to $AWS_ENDPOINT_URL. Credentials default to moto's dummy ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import boto3

TAG_KEY = "apn-link"

OUS = [
    "Workloads",
    "Workloads/Prod",
    "Workloads/Prod/Payments",
    "Workloads/Dev",
    "Sandbox",
    "Security",
]

# (name, OU path below Root or "" for the root, tag value or None)
ACCOUNTS = [
    ("shared-services", "", "linked"),
    ("network", "", None),
    ("prod-checkout", "Workloads/Prod", "linked"),
    ("prod-catalog", "Workloads/Prod", "linked"),
    ("prod-search", "Workloads/Prod", None),  # linked through Partner Central (ACTIVE)
    ("prod-recommendations", "Workloads/Prod", None),
    ("payments-api", "Workloads/Prod/Payments", "linked"),
    ("payments-ledger", "Workloads/Prod/Payments", None),
    ("dev-checkout", "Workloads/Dev", "linked"),
    ("dev-catalog", "Workloads/Dev", None),  # Partner Central connection CANCELED
    ("dev-search", "Workloads/Dev", None),  # Partner Central invitation PENDING
    ("dev-data", "Workloads/Dev", None),
    ("sandbox-alice", "Sandbox", None),
    ("sandbox-bob", "Sandbox", None),
    ("sandbox-carol", "Sandbox", None),
    ("log-archive", "Security", "linked"),
    ("audit", "Security", "exempt"),
    ("security-tooling", "Security", None),
    ("backup", "Security", None),
]

PC_ACTIVE = "prod-search"
PC_CANCELED = "dev-catalog"
PC_PENDING = "dev-search"


def client(service: str, endpoint: str, region: str):
    """A boto3 client for moto: dummy credentials unless the environment has some."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"), help="Organizations endpoint (moto URL)")
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    p.add_argument("--fixture", help="write a fake Partner Central fixture here")
    p.add_argument("--catalog", default="AWS", help="catalog of the fixture (AWS or Sandbox)")
    args = p.parse_args(argv)
    if not args.endpoint:
        print("seed_demo: give --endpoint or set AWS_ENDPOINT_URL (this script is meant for moto)", file=sys.stderr)
        return 2

    org = client("organizations", args.endpoint, args.region)

    organization = org.create_organization(FeatureSet="ALL")["Organization"]
    root_id = org.list_roots()["Roots"][0]["Id"]

    ou_ids = {"": root_id}
    for path in OUS:
        parent_path, _, name = path.rpartition("/")
        ou = org.create_organizational_unit(ParentId=ou_ids[parent_path], Name=name)
        ou_ids[path] = ou["OrganizationalUnit"]["Id"]

    accounts = {}
    for name, path, tag in ACCOUNTS:
        status = org.create_account(
            AccountName=name,
            Email=f"aws+{name}@example.com",
            Tags=[{"Key": TAG_KEY, "Value": tag}] if tag else [],
        )["CreateAccountStatus"]
        account_id = status["AccountId"]
        if path:
            org.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_ids[path])
        accounts[name] = {
            "id": account_id,
            "ou_path": "Root/" + path if path else "Root",
            "tag": tag,
        }

    out = {
        "organization_id": organization["Id"],
        "management_account_id": organization["MasterAccountId"],
        "root_id": root_id,
        "ous": {("Root/" + k if k else "Root"): v for k, v in ou_ids.items()},
        "sandbox_ou_id": ou_ids["Sandbox"],
        "accounts": accounts,
        "partner_central": {
            "active": accounts[PC_ACTIVE]["id"],
            "canceled": accounts[PC_CANCELED]["id"],
            "pending": accounts[PC_PENDING]["id"],
        },
    }
    if args.fixture:
        fixture = {
            "catalog": args.catalog,
            "page_size": 2,
            "fail": None,
            "connections": [
                {"account_id": accounts[PC_ACTIVE]["id"], "status": "ACTIVE", "name": PC_ACTIVE},
                {"account_id": accounts[PC_CANCELED]["id"], "status": "CANCELED", "name": PC_CANCELED},
            ],
            "invitations": [
                {"account_id": accounts[PC_PENDING]["id"], "status": "PENDING"},
            ],
        }
        with open(args.fixture, "w", encoding="utf-8") as f:
            json.dump(fixture, f, indent=2)
            f.write("\n")
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
