//! The organization on moto, seeded through the Organizations API as a test needs it:
//! OUs, accounts with tags, moves, tag changes, closing and removing accounts.

use aws_config::SdkConfig;
use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};

/// The organization on moto, seeded through the Organizations API.
pub struct Org {
    pub client: aws_sdk_organizations::Client,
    pub id: String,
    pub root_id: String,
    pub management_account_id: String,
}

impl Org {
    /// `CreateOrganization` with all features; moto makes the caller the management account.
    pub async fn create(cfg: &SdkConfig) -> Org {
        let client = aws_sdk_organizations::Client::new(cfg);
        let org = client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("CreateOrganization")
            .organization
            .expect("organization");
        let root_id = client.list_roots().send().await.expect("ListRoots").roots()[0]
            .id()
            .expect("root id")
            .to_string();
        Org {
            id: org.id.expect("organization id"),
            management_account_id: org.master_account_id.expect("management account id"),
            client,
            root_id,
        }
    }

    /// Creates an OU under `parent` and returns its id.
    pub async fn ou(&self, parent: &str, name: &str) -> String {
        self.client
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateOrganizationalUnit {name}: {e:?}"))
            .organizational_unit
            .and_then(|ou| ou.id)
            .expect("OU id")
    }

    /// Creates an account named `name` (email `<name>@example.com`) with `tags` and moves it
    /// under `parent`. moto creates accounts synchronously, so the id is known at once.
    pub async fn account(&self, parent: &str, name: &str, tags: &[(&str, &str)]) -> String {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| tag(k, v)).collect();
        let id = self
            .client
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccount {name}: {e:?}"))
            .create_account_status
            .and_then(|s| s.account_id)
            .expect("moto returns the new account id at once");
        if parent != self.root_id {
            self.move_account(&id, &self.root_id, parent).await;
        }
        id
    }

    /// One untagged [`Org::account`] under `parent` per name, in order; their ids.
    pub async fn accounts<const N: usize>(&self, parent: &str, names: [&str; N]) -> [String; N] {
        let mut ids = Vec::with_capacity(N);
        for name in names {
            ids.push(self.account(parent, name, &[]).await);
        }
        ids.try_into().expect("one id per name")
    }

    /// [`Org::account`] tagged `apn-link=linked`: linked by the default tag rule.
    pub async fn linked_account(&self, parent: &str, name: &str) -> String {
        self.account(parent, name, &[("apn-link", "linked")]).await
    }

    /// Tags the management account linked, so that only the member accounts a test creates
    /// can alert.
    pub async fn link_management(&self) {
        self.tag(&self.management_account_id, "apn-link", "linked")
            .await;
    }

    pub async fn move_account(&self, account_id: &str, from: &str, to: &str) {
        let request = self
            .client
            .move_account()
            .account_id(account_id)
            .source_parent_id(from)
            .destination_parent_id(to);
        done(request.send().await, format!("MoveAccount {account_id}"));
    }

    pub async fn tag(&self, account_id: &str, key: &str, value: &str) {
        let request = self.client.tag_resource().resource_id(account_id);
        let answer = request.tags(tag(key, value)).send().await;
        done(answer, format!("TagResource {account_id}"));
    }

    pub async fn untag(&self, account_id: &str, key: &str) {
        let request = self.client.untag_resource().resource_id(account_id);
        let answer = request.tag_keys(key).send().await;
        done(answer, format!("UntagResource {account_id}"));
    }

    /// moto moves a closed account straight to State `SUSPENDED` (AWS passes through
    /// `PENDING_CLOSURE`).
    pub async fn close_account(&self, account_id: &str) {
        let request = self.client.close_account().account_id(account_id);
        done(request.send().await, format!("CloseAccount {account_id}"));
    }

    pub async fn remove_account(&self, account_id: &str) {
        let request = self.client.remove_account_from_organization();
        let answer = request.account_id(account_id).send().await;
        done(
            answer,
            format!("RemoveAccountFromOrganization {account_id}"),
        );
    }
}

/// The answer to the seeding call `what`, or a panic naming it with the error: seeding that
/// fails is a broken test, not a finding.
fn done<T, E: std::fmt::Debug>(result: Result<T, E>, what: String) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value are set")
}
