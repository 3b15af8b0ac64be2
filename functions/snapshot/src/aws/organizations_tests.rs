//! The walk's pure parts: paths, pages, and the errors a user is shown.

use super::*;

fn code(c: &str) -> Failure {
    Failure::Service(c.into())
}

/// Access denied names the exact permission the role lacks.
#[test]
fn access_denied_names_the_permission() {
    assert_eq!(
        hint("ListAccountsForParent", &code("AccessDeniedException")),
        "grant organizations:ListAccountsForParent to the function's role"
    );
}

/// Each known failure gets a hint that says what to do.
#[test]
fn known_failures_have_actionable_hints() {
    assert!(
        hint("ListRoots", &code("AWSOrganizationsNotInUseException"))
            .contains("management account or a delegated administrator")
    );
    assert!(hint("ListRoots", &code("TooManyRequestsException"))
        .contains("lower APNWATCH_ORG_CONCURRENCY"));
    assert!(hint("ListRoots", &Failure::Unreachable).contains("VPC endpoint or NAT"));
    assert!(hint("ListRoots", &Failure::Credentials).contains("APNWATCH_ORG_ROLE_ARN"));
    assert!(hint("ListRoots", &code("Weird")).contains("Weird"));
}

/// Paths and id chains grow from the root down, one unit per level.
#[test]
fn child_paths_and_ids_extend_the_parent() {
    let root = Parent {
        id: "r-ab12".into(),
        depth: 0,
        path: ROOT_NAME.into(),
        ids: vec!["r-ab12".into()],
    };
    let prod = root
        .child("ou-ab12-11111111".into(), "Workloads")
        .child("ou-ab12-22222222".into(), "Prod");
    assert_eq!(prod.path, "Root/Workloads/Prod");
    assert_eq!(prod.depth, 2);
    assert_eq!(
        prod.ids,
        vec!["r-ab12", "ou-ab12-11111111", "ou-ab12-22222222"]
    );
}

/// An account takes its parent's path and ids, reads `State` (not `Status`) and is
/// flagged as the management account by id.
#[test]
fn account_fields_come_from_state_and_parent() {
    let parent = Parent {
        id: "ou-ab12-11111111".into(),
        depth: 1,
        path: "Root/Workloads".into(),
        ids: vec!["r-ab12".into(), "ou-ab12-11111111".into()],
    };
    let a = types::Account::builder()
        .id("111122223333")
        .name("prod")
        .email("prod@example.com")
        .status(types::AccountStatus::Active)
        .state(types::AccountState::Suspended)
        .joined_method(types::AccountJoinedMethod::Invited)
        .joined_timestamp(aws_sdk_organizations::primitives::DateTime::from_secs(
            1_700_000_000,
        ))
        .build();
    let acct = account(a, &parent, "111122223333").unwrap();
    assert_eq!(acct.state, AccountState::Suspended);
    assert_eq!(acct.ou_path, "Root/Workloads");
    assert_eq!(acct.ou_ids, parent.ids);
    assert_eq!(acct.parent_id, "ou-ab12-11111111");
    assert_eq!(acct.joined_method.as_deref(), Some("INVITED"));
    assert_eq!(
        acct.joined_at.unwrap().to_rfc3339(),
        "2023-11-14T22:13:20+00:00"
    );
    assert!(acct.is_management);
}
