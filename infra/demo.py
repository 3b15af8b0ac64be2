#!/usr/bin/env python3
"""boto3 helpers for the demo (infra/demo.sh), no AWS CLI needed.

    demo.py setup   --endpoint URL   creates the alert topic and a queue subscribed to it;
                                     prints {"topic_arn", "queue_url", "queue_arn"}
    demo.py receive --endpoint URL --queue-url URL [--require]
                                     drains the queue and prints each alert readably, with the
                                     SNS message attributes subscribers filter on
    demo.py tag     --endpoint URL --account-id ID --key K --value V
                                     tags an account, as a team linking or exempting it would

A queue subscriber gets the `sqs` key of the structured SNS message (the machine-readable
alert JSON) inside the SNS envelope; `receive` renders it the way the email reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Importing the sibling script must not leave a __pycache__ in the work tree.
sys.dont_write_bytecode = True
from seed_demo import client  # noqa: E402


def setup(args) -> int:
    sns = client("sns", args.endpoint, args.region)
    sqs = client("sqs", args.endpoint, args.region)
    topic_arn = sns.create_topic(Name=args.topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=args.queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    json.dump({"topic_arn": topic_arn, "queue_url": queue_url, "queue_arn": queue_arn}, sys.stdout)
    print()
    return 0


def render_alert(a: dict) -> str:
    return (
        f"\n[{a.get('reason')}] {a.get('account_id')} {a.get('name')}\n"
        f"  OU path:     {a.get('ou_path')}\n"
        f"  Email:       {a.get('email')}\n"
        f"  State:       {a.get('state')}\n"
        f"  Link state:  {a.get('link_state')} ({a.get('link_source')}: {a.get('link_detail')})\n"
        f"  Why:         {a.get('why')}\n"
        f"  What to do:  {a.get('what_to_do')}\n"
    )


def render(envelope: dict) -> str:
    subject = envelope.get("Subject") or "(no subject)"
    out = [f"Subject: {subject}"]
    attributes = envelope.get("MessageAttributes") or {}
    if attributes:
        out.append(
            "Attributes: " + ", ".join(f"{k}={v.get('Value')}" for k, v in sorted(attributes.items()))
        )
    message = envelope.get("Message", "")
    try:
        doc = json.loads(message)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "alerts" not in doc:
        # Not the machine format (e.g. a raw text publish): show it as it came.
        out.append(message)
        return "\n".join(out)
    out.append(
        f"Organization {doc.get('organization_id')}, run {doc.get('run_id')}, "
        f"part {doc.get('part')}/{doc.get('parts')}, {len(doc['alerts'])} account(s) ({doc.get('schema')})"
    )
    for a in doc["alerts"]:
        out.append(render_alert(a).rstrip("\n"))
    return "\n".join(out)


def receive(args) -> int:
    sqs = client("sqs", args.endpoint, args.region)
    got = 0
    deadline = time.monotonic() + args.wait
    while True:
        resp = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = resp.get("Messages", [])
        for m in messages:
            got += 1
            try:
                envelope = json.loads(m["Body"])
            except ValueError:
                envelope = {"Message": m["Body"]}
            print(f"--- message {got} " + "-" * 50)
            print(render(envelope))
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=m["ReceiptHandle"])
        # Once something arrived, an empty poll means the queue is drained.
        if (got and not messages) or time.monotonic() > deadline:
            break
    if got == 0:
        print("(no alert in the queue)")
        return 1 if args.require else 0
    return 0


def tag(args) -> int:
    org = client("organizations", args.endpoint, args.region)
    org.tag_resource(ResourceId=args.account_id, Tags=[{"Key": args.key, "Value": args.value}])
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--topic", default="apn-link-watch-demo")
    s.add_argument("--queue", default="apn-link-watch-demo-alerts")
    r = sub.add_parser("receive")
    r.add_argument("--queue-url", required=True)
    r.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a first message")
    r.add_argument("--require", action="store_true", help="exit 1 when no message arrived")
    t = sub.add_parser("tag")
    t.add_argument("--account-id", required=True)
    t.add_argument("--key", required=True)
    t.add_argument("--value", required=True)
    args = p.parse_args(argv)
    if not args.endpoint:
        print("demo.py: give --endpoint or set AWS_ENDPOINT_URL", file=sys.stderr)
        return 2
    return {"setup": setup, "receive": receive, "tag": tag}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
