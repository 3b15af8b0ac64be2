"""Writes one CloudFormation parameter file per valid combination of template.yaml's optional
parameters (chat channels, reserved concurrency, schedule state, Partner Central among the link
sources, an external id, change-event triggers with and without forwarding accounts or Control
Tower events, table deletion protection, routed email, auto-link), for `make template-params`
to lint in a single cfn-lint run.

Only valid combinations: cfn-lint lints a template under each parameter set but does not
evaluate `Rules`; the half-filled Slack/Teams settings the rules refuse are covered by
tests/tests/template_params.rs.
"""

import itertools
import json
import sys
from pathlib import Path

SLACK = {"SlackWorkspaceId": "T0123ABCD", "SlackChannelId": "C0123ABCD"}
TEAMS = {
    "TeamsTeamId": "74361522-da01-538d-aa2e-ac7918c6bb92",
    "TeamsTenantId": "0f3c1c7b-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    "TeamsChannelId": "19%3ab6ef35dc342d4f3ab0a7e0d4ae7e0f%40thread.tacv2",
}
PARTNER_CENTRAL = {
    "LinkSources": "partner-central,tag,list",
    "PartnerCentralRoleArn": "arn:aws:iam::111122223333:role/apn-link-watch-reader",
    "PartnerCentralExternalId": "apn-link-watch",
}
ORG_ROLE = {"OrgRoleArn": "arn:aws:iam::444455556666:role/apn-link-watch-org-reader"}
# TriggerOnChanges off, on (events arrive in this account and region), on with forwarders.
TRIGGERS = {
    "notrigger": {"TriggerOnChanges": "false"},
    "trigger": {"TriggerOnChanges": "true"},
    "forwarded": {"TriggerOnChanges": "true", "EventSourceAccounts": "111122223333,444455556666"},
    # Control Tower lifecycle events too, on a stack updated after its first create (the table
    # then deletion-protected).
    "controltower": {
        "TriggerOnChanges": "true",
        "ControlTowerEvents": "true",
        "TableDeletionProtection": "true",
    },
}
AUTO_LINK = {
    "AutoInvite": "new",
    "InviteName": "Example Partner",
    "InviteEmail": "partner@example.com",
    "AcceptRoleName": "apn-link-watch-accept",
    "AcceptExternalId": "apn-link-watch-accept",
}
ROUTED_EMAIL = {"AlertEmail": "apn@example.com", "RouteBy": "ou:1", "AlertEmailRoute": "Payments"}


def main(out_dir: str) -> None:
    out = Path(out_dir)
    written = 0
    for slack, teams, reserved, state, pc, org, trigger, routed, autolink in itertools.product(
        (False, True),
        (False, True),
        ("0", "1"),
        ("ENABLED", "DISABLED"),
        (False, True),
        (False, True),
        tuple(TRIGGERS),
        (False, True),
        (False, True),
    ):
        params = {"ReservedConcurrency": reserved, "ScheduleState": state, **TRIGGERS[trigger]}
        for on, group in (
            (slack, SLACK),
            (teams, TEAMS),
            (pc, PARTNER_CENTRAL),
            (org, ORG_ROLE),
            (routed, ROUTED_EMAIL),
            (autolink, AUTO_LINK),
        ):
            if on:
                params.update(group)
        name = "-".join(
            [
                "slack" if slack else "noslack",
                "teams" if teams else "noteams",
                f"rc{reserved}",
                state.lower(),
                "pc" if pc else "nopc",
                "orgrole" if org else "mgmt",
                trigger,
                "routedmail" if routed else "nomail",
                "autolink" if autolink else "noautolink",
            ]
        )
        body = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items())]
        (out / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n")
        written += 1
    print(f"template_params: {written} parameter sets in {out}")


if __name__ == "__main__":
    main(sys.argv[1])
