//! The auto-link permissions in the templates: inviting and assuming the accept role exist
//! only when their parameters turn them on, the accept role is assumable only by name and
//! only inside the function's own organization, and the member role can do three things.

use serde_norway::Value;

fn parse(relative: &str) -> Value {
    integration_tests::parse_yaml(relative)
}

/// `value` as YAML text: the `!If` branches are tagged values these checks read as text.
fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).unwrap()
}

/// The function may invite only under InviteAsSelf (AutoInvite on, no Partner Central role),
/// and assume only `role/<AcceptRoleName>` in accounts whose organization is its own.
#[test]
fn function_role_invites_and_assumes_only_when_turned_on() {
    let doc = parse("template.yaml");
    let policy = yaml(&doc["Resources"]["FunctionRole"]["Properties"]["Policies"]);
    let invite = policy
        .find("partnercentral:CreateConnectionInvitation")
        .expect("invite permission");
    let guard = policy[..invite].rfind("!If").expect("inside an !If");
    assert!(
        policy[guard..invite].contains("InviteAsSelf"),
        "{}",
        &policy[guard..invite]
    );
    let accept = policy
        .find("Sid: AssumeMemberAcceptRole")
        .expect("accept statement");
    let guard = policy[..accept].rfind("!If").unwrap();
    assert!(policy[guard..accept].contains("HasAcceptRole"));
    let statement = &policy[accept..accept + 400];
    assert!(
        statement.contains("arn:${AWS::Partition}:iam::*:role/${AcceptRoleName}"),
        "{statement}"
    );
    assert!(
        statement.contains("aws:ResourceOrgID: ${aws:PrincipalOrgID}"),
        "{statement}"
    );
    let params = &doc["Parameters"];
    assert_eq!(params["AutoInvite"]["Default"].as_str(), Some("off"));
    assert_eq!(params["InviteName"]["MaxLength"].as_u64(), Some(80));
    assert_eq!(params["InviteEmail"]["MaxLength"].as_u64(), Some(320));
    assert_eq!(params["InviteMessage"]["MaxLength"].as_u64(), Some(256));
    assert_eq!(params["AcceptRoleName"]["Default"].as_str(), Some(""));
}

/// The member role trusts only the function's role and allows exactly the three invitation
/// calls a receiver needs, in one catalog.
#[test]
fn member_accept_role_is_least_privilege() {
    let doc = parse("infra/member-accept-role.yaml");
    let role = &doc["Resources"]["AcceptRole"]["Properties"];
    let trust = yaml(&role["AssumeRolePolicyDocument"]);
    assert!(trust.contains("AWS: !Ref FunctionRoleArn"), "{trust}");
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    let actions: Vec<&str> = statements[0]["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "partnercentral:ListConnectionInvitations",
            "partnercentral:GetConnectionInvitation",
            "partnercentral:AcceptConnectionInvitation"
        ]
    );
    assert!(yaml(&statements[0]["Condition"]).contains("partnercentral:Catalog"));
}

/// The Partner Central reader role gains CreateConnectionInvitation only with AllowInvite.
#[test]
fn partner_central_role_invites_only_with_allow_invite() {
    let doc = parse("infra/partner-central-role.yaml");
    assert_eq!(
        doc["Parameters"]["AllowInvite"]["Default"].as_str(),
        Some("false")
    );
    let policy = yaml(&doc["Resources"]["PartnerCentralReaderRole"]["Properties"]["Policies"]);
    let invite = policy
        .find("partnercentral:CreateConnectionInvitation")
        .expect("invite permission");
    let guard = policy[..invite].rfind("!If").expect("inside an !If");
    assert!(policy[guard..invite].contains("InviteAllowed"));
}
