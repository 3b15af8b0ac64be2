//! Before the first AWS call: is there a region, and can credentials be loaded? Without
//! either every call fails, late and wordily (the SDK's IMDS warnings, then a `StoreError`
//! about the network); this says the cause once, in one line, with the fix. The `apnwatch`
//! commands call it first; the doctor reports it as its `identity` check.
//! <https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html>,
//! <https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html>

use aws_config::SdkConfig;
use aws_sdk_sts::config::ProvideCredentials;

use crate::error::{ConfigError, Error};

/// What to do when either is missing.
pub const FIX: &str = "set AWS_PROFILE to a profile with credentials and a region (for an SSO profile run `aws sso login --profile NAME` first), or set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION";

/// Checks the region, then loads the credentials once. This load goes to the provider
/// itself, past the identity cache the clients share (aws-config's lazy `IdentityCache`), so
/// the clients load them again for their first call. Static keys (environment, a profile's
/// access keys) cost nothing to load twice; an SSO profile (the SSO `GetRoleCredentials`
/// call; its token is cached) or an assume-role profile (STS `AssumeRole`) makes that
/// request twice per CLI command: one request, against an error that otherwise comes late
/// and unclear.
pub async fn check(config: &SdkConfig) -> Result<(), Error> {
    if config.region().is_none() {
        return Err(ConfigError::Missing {
            var: "AWS_REGION",
            hint: "no AWS region is configured: set AWS_REGION (e.g. us-east-1), or a region in the AWS_PROFILE profile",
        }
        .into());
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(Error::Credentials {
            hint: FIX.into(),
            source: "no credentials provider is configured".into(),
        });
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| Error::Credentials {
            hint: FIX.into(),
            source: Box::new(e),
        })
}
