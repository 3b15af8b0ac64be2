//! The invite and accept settings (`APNWATCH_AUTO_INVITE`, `APNWATCH_INVITE_*`,
//! `APNWATCH_ACCEPT_*`) into [`InviteConfig`], with Partner Central's limits.

use super::{
    checked, invalid, is_external_id, whole_number, ConfigError, ENV_ACCEPT_EXTERNAL_ID,
    ENV_ACCEPT_ROLE_NAME, ENV_AUTO_INVITE, ENV_INVITE_EMAIL, ENV_INVITE_MAX_PER_RUN,
    ENV_INVITE_MESSAGE, ENV_INVITE_NAME, ENV_LINK_SOURCES, EXTERNAL_ID_HINT,
};
use crate::domain::invite::{
    AutoInvite, InviteConfig, DEFAULT_MAX_PER_RUN, MAX_EMAIL, MAX_MESSAGE, MAX_NAME,
};
use crate::domain::link::LinkRules;
use crate::domain::model::LinkSource;

impl InviteConfig {
    /// Reads and validates the settings; `get` returns trimmed, non-empty values.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        rules: &LinkRules,
    ) -> Result<Self, ConfigError> {
        let auto = match get(ENV_AUTO_INVITE) {
            None => AutoInvite::Off,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "off" => AutoInvite::Off,
                "new" => AutoInvite::New,
                "unlinked" => AutoInvite::Unlinked,
                _ => return Err(invalid(ENV_AUTO_INVITE, &v, "use off, new or unlinked")),
            },
        };
        let max_per_run = whole_number(
            get,
            ENV_INVITE_MAX_PER_RUN,
            DEFAULT_MAX_PER_RUN,
            1..=1000,
            "a whole number from 1 to 1000",
        )?;
        // Partner Central's limits on the invitation's texts, in characters.
        let text = |var, max: usize| {
            let hint = format!("Partner Central accepts at most {max} characters");
            checked(get, var, |v| v.chars().count() <= max, &hint)
        };
        let name = text(ENV_INVITE_NAME, MAX_NAME)?;
        let email = checked(
            get,
            ENV_INVITE_EMAIL,
            |e| e.chars().count() <= MAX_EMAIL && is_email(e),
            "an email address like partner-ops@example.com, at most 320 characters",
        )?;
        let message = text(ENV_INVITE_MESSAGE, MAX_MESSAGE)?;
        // IAM role names: 1-64 of [\w+=,.@-].
        let accept_role_name = checked(
            get,
            ENV_ACCEPT_ROLE_NAME,
            |r| {
                r.len() <= 64
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
            },
            "a role name (not an ARN) of at most 64 letters, digits and _+=,.@-",
        )?;
        let accept_external_id = checked(
            get,
            ENV_ACCEPT_EXTERNAL_ID,
            is_external_id,
            EXTERNAL_ID_HINT,
        )?;
        let needs_pc = auto != AutoInvite::Off || accept_role_name.is_some();
        if needs_pc && !rules.uses(LinkSource::PartnerCentral) {
            let var = if auto != AutoInvite::Off {
                ENV_AUTO_INVITE
            } else {
                ENV_ACCEPT_ROLE_NAME
            };
            return Err(invalid(
                var,
                &get(var).unwrap_or_default(),
                &format!("inviting and accepting need partner-central among {ENV_LINK_SOURCES}, so the next run sees the invitation"),
            ));
        }
        if auto != AutoInvite::Off && (name.is_none() || email.is_none()) {
            return Err(invalid(
                ENV_AUTO_INVITE,
                auto.as_str(),
                &format!("set {ENV_INVITE_NAME} and {ENV_INVITE_EMAIL}: Partner Central requires the inviter's name and email"),
            ));
        }
        Ok(Self {
            auto,
            max_per_run,
            name,
            email,
            message,
            accept_role_name,
            accept_external_id,
        })
    }
}

/// The documented pattern, simplified: one `@`, a local part of the allowed characters and
/// a dotted domain of letters, digits and inner hyphens.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<InviteConfig, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let rules = LinkRules {
            sources: vec![LinkSource::PartnerCentral, LinkSource::Tag],
            ..LinkRules::default()
        };
        InviteConfig::from_lookup(&|k| map.get(k).map(|v| v.to_string()), &rules)
    }

    /// Settings: defaults, lengths, the email pattern, and auto-invite's requirements, each
    /// error naming its variable.
    #[test]
    fn settings_validate_and_name_the_variable() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            (c.auto, c.max_per_run, c.accepts()),
            (AutoInvite::Off, 25, false)
        );
        let ok = [
            (ENV_AUTO_INVITE, "unlinked"),
            (ENV_INVITE_NAME, "Ops"),
            (ENV_INVITE_EMAIL, "ops@example.com"),
        ];
        assert_eq!(cfg(&ok).unwrap().auto, AutoInvite::Unlinked);
        let long_name = "n".repeat(81);
        let long_msg = "m".repeat(257);
        for (vars, var) in [
            (vec![(ENV_AUTO_INVITE, "all")], ENV_AUTO_INVITE),
            (vec![(ENV_AUTO_INVITE, "new")], ENV_AUTO_INVITE),
            (vec![(ENV_INVITE_EMAIL, "ops@localhost")], ENV_INVITE_EMAIL),
            (vec![(ENV_INVITE_NAME, long_name.as_str())], ENV_INVITE_NAME),
            (
                vec![(ENV_INVITE_MESSAGE, long_msg.as_str())],
                ENV_INVITE_MESSAGE,
            ),
            (vec![(ENV_INVITE_MAX_PER_RUN, "0")], ENV_INVITE_MAX_PER_RUN),
            (
                vec![(ENV_ACCEPT_ROLE_NAME, "arn:aws:iam::1:role/x")],
                ENV_ACCEPT_ROLE_NAME,
            ),
        ] {
            let e = cfg(&vars).unwrap_err();
            assert!(e.to_string().starts_with(var), "{e}");
        }
        // Without partner-central among the sources, auto-invite is a start-up error.
        let map: HashMap<&str, &str> = ok.iter().copied().collect();
        let e = InviteConfig::from_lookup(
            &|k| map.get(k).map(|v| v.to_string()),
            &LinkRules::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("partner-central among APNWATCH_LINK_SOURCES"),
            "{e}"
        );
    }
}
