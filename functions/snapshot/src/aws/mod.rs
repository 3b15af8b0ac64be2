//! AWS wiring: the SDK configuration every client shares, role assumption for the
//! Organizations and Partner Central sessions, client construction, and the few helpers
//! the adapters share (error classification, pagination).

pub mod doctor;
pub mod dynamodb;
pub mod organizations;
pub mod partner_central;
pub mod preflight;
pub mod sns;

use std::future::Future;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::SharedCredentialsProvider;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

// ---------------------------------------------------------------------------------------
// SDK configuration and clients
// ---------------------------------------------------------------------------------------

/// Session name of the role assumed for Organizations (`APNWATCH_ORG_ROLE_ARN`); shows in
/// CloudTrail of the management account.
pub const ORG_SESSION_NAME: &str = "apn-link-watch-org";
/// Session name of the role assumed for Partner Central (`APNWATCH_PARTNER_CENTRAL_ROLE_ARN`).
pub const PARTNER_CENTRAL_SESSION_NAME: &str = "apn-link-watch-partner-central";
/// Partner Central's Account API has a single endpoint, in us-east-1.
pub const PARTNER_CENTRAL_REGION: &str = "us-east-1";
/// Used for the global services (Organizations, STS) when nothing names a region, e.g. a
/// CLI run without a profile region; Lambda always sets `AWS_REGION`.
const FALLBACK_REGION: &str = "us-east-1";

/// Attempts per call, the first included.
///
/// Why 8 rather than the default 3: one run fans out many Organizations calls in parallel
/// and Organizations throttles at a few requests per second per account (shared with every
/// other tool in the organization). Any call that still fails fails the whole snapshot, so
/// riding out a burst is worth more than failing fast. Standard mode's exponential backoff
/// with jitter (capped at 20 s) over 8 attempts waits about a minute at worst, well inside
/// the function's timeout. The Organizations client alone uses adaptive mode (see
/// [`organizations_client`]).
pub const MAX_ATTEMPTS: u32 = 8;

/// The standard credential and region chain (environment, profile, web identity, ECS,
/// IMDS), with the retry policy above. `AWS_ENDPOINT_URL` and the service-specific
/// `AWS_ENDPOINT_URL_<SERVICE>` variables are honoured by every client built from it.
pub async fn base_sdk_config() -> SdkConfig {
    sdk_loader().load().await
}

/// The loader behind [`base_sdk_config`], before it reads anything: the integration tests
/// load it with their own environment map instead of the process environment.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

/// `base` with credentials of `role_arn`, assumed with `base`'s credentials.
///
/// The provider calls STS lazily and the client's identity cache refreshes the session
/// before it expires, so a long run never signs with expired credentials. Everything else
/// (retry policy, endpoint overrides, HTTP client) is kept from `base`. `region`, when
/// given, is used for the STS call and the returned configuration.
pub async fn assume_role_config(
    base: &SdkConfig,
    role_arn: &str,
    session_name: &str,
    external_id: Option<&str>,
    region: Option<&str>,
) -> SdkConfig {
    let mut provider = AssumeRoleProvider::builder(role_arn)
        .session_name(session_name)
        .configure(base);
    if let Some(id) = external_id {
        provider = provider.external_id(id);
    }
    if let Some(region) = region {
        provider = provider.region(Region::new(region.to_string()));
    }
    let provider = provider.build().await;
    let mut config = base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider));
    if let Some(region) = region {
        config = config.region(Region::new(region.to_string()));
    }
    config.build()
}

/// The Organizations client. Organizations is a global service: any region resolves to
/// its endpoint, so a missing region falls back instead of failing.
///
/// Adaptive retry mode: after a throttling error (`TooManyRequestsException` is one) the
/// SDK's client-side rate limiter cuts the request rate of every call of this client and
/// raises it again gradually (a CUBIC curve), so a walk that hits the organization's shared
/// limit slows down instead of spending its retries; without throttling it costs nothing.
/// The limiter lives for the process, so a warm Lambda keeps what it learned between
/// invokes, and a 10,000-account walk (thousands of calls) learns within the run.
/// `APNWATCH_ORG_CONCURRENCY` still bounds the calls in flight.
/// (aws-smithy-types `RetryConfig::adaptive`, aws-smithy-runtime `ClientRateLimiter`;
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>)
pub fn organizations_client(config: &SdkConfig) -> aws_sdk_organizations::Client {
    let mut builder = aws_sdk_organizations::config::Builder::from(config)
        .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS));
    if config.region().is_none() {
        builder = builder.region(Region::from_static(FALLBACK_REGION));
    }
    aws_sdk_organizations::Client::from_conf(builder.build())
}

/// An STS client for `config`'s credentials; STS is reachable from any region, so a missing
/// region falls back instead of failing.
pub fn sts_client(config: &SdkConfig) -> aws_sdk_sts::Client {
    let mut sts = aws_sdk_sts::config::Builder::from(config);
    if config.region().is_none() {
        sts = sts.region(Region::from_static(FALLBACK_REGION));
    }
    aws_sdk_sts::Client::from_conf(sts.build())
}

/// The CloudTrail client in `region` (the endpoint override, if any, is kept: see
/// [`partner_central_client`]).
pub fn cloudtrail_client(config: &SdkConfig, region: &'static str) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .region(Region::from_static(region))
            .build(),
    )
}

/// The Partner Central Account client, always in us-east-1 (its only endpoint).
///
/// The region is set on the client builder made from `config`, not on `config` itself:
/// `Builder::from(&SdkConfig)` has already resolved the endpoint override by then
/// (`AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT`, else `AWS_ENDPOINT_URL`, else a code-set
/// endpoint URL), and changing the region afterwards keeps it.
pub fn partner_central_client(config: &SdkConfig) -> aws_sdk_partnercentralaccount::Client {
    aws_sdk_partnercentralaccount::Client::from_conf(
        aws_sdk_partnercentralaccount::config::Builder::from(config)
            .region(Region::from_static(PARTNER_CENTRAL_REGION))
            .build(),
    )
}

/// [`partner_central_client`] and the STS client ([`sts_client`]) that tells which account
/// the Partner Central session belongs to.
pub fn partner_central_clients(
    config: &SdkConfig,
) -> (aws_sdk_partnercentralaccount::Client, aws_sdk_sts::Client) {
    (partner_central_client(config), sts_client(config))
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the adapters (org, notify, partner_central)
// ---------------------------------------------------------------------------------------

/// What went wrong with one SDK call, in the terms the adapters' hints need. Every
/// service's `SdkError` is the same smithy type, so one classifier serves them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The service answered with this error code (after the SDK's retries).
    Service(String),
    /// No answer: connection refused, DNS, TLS, or a timeout.
    Unreachable,
    /// The request was never sent: the credentials could not be loaded or the role could
    /// not be assumed.
    Credentials,
    /// The request could not be built or the answer could not be read.
    Other,
}

/// `err` and each of its causes, on one line joined by `: ` (e.g. the AssumeRole refusal
/// inside a credentials error of a call that never reached the service).
pub(crate) fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        parts.push(e.to_string());
        cur = e.source();
    }
    parts.join(": ")
}

pub(crate) fn classify<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Failure {
    match err {
        SdkError::ServiceError(_) => match err.code() {
            Some(code) => Failure::Service(code.to_string()),
            None => Failure::Other,
        },
        SdkError::TimeoutError(_) => Failure::Unreachable,
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Failure::Unreachable,
        // Identity resolution runs just before sending; its failures surface here.
        SdkError::DispatchFailure(_) => Failure::Credentials,
        _ => Failure::Other,
    }
}

/// A service handed back the token it was given: following it would loop forever.
#[derive(Debug, thiserror::Error)]
#[error("the service returned the same NextToken it was sent ({0}); stopping instead of looping")]
pub(crate) struct RepeatedToken(pub String);

/// Why [`all_pages`] stopped.
#[derive(Debug)]
pub(crate) enum PageError<E> {
    Call(E),
    Repeated(RepeatedToken),
}

/// One page of an SDK list call, for [`all_pages`]: `$request` sent with `$token`, answering
/// the output's `$items` list and its next token. The SDK's request builders share no trait
/// for `set_next_token`, so without this every list call spells out the same five lines.
macro_rules! next_page {
    ($request:expr, $token:expr, $items:ident) => {
        async move {
            $request
                .set_next_token($token)
                .send()
                .await
                .map(|out| ($crate::aws::Listed::listed(out.$items), out.next_token))
        }
    };
}
pub(crate) use next_page;

/// A list field of an SDK output, whether the model marks it required (`Vec`) or not
/// (`Option<Vec>`, absent = empty).
pub(crate) trait Listed<T> {
    fn listed(self) -> Vec<T>;
}

impl<T> Listed<T> for Vec<T> {
    fn listed(self) -> Vec<T> {
        self
    }
}

impl<T> Listed<T> for Option<Vec<T>> {
    fn listed(self) -> Vec<T> {
        self.unwrap_or_default()
    }
}

/// Calls `page` with `None`, then with each `NextToken` it returns, until there is none.
/// A page may be empty and still carry a token (AWS does that): it is followed too.
///
/// Hand-written on purpose, not the SDK's `into_paginator()`: the SDK paginator stops
/// silently, without an error, when a service hands back the token it was sent (its
/// `stop_on_duplicate_token`, on by default, in every generated `paginator.rs`). For the
/// walk that would mean a truncated list of accounts treated as complete, and every account
/// after the cut recorded as REMOVED. Here a repeated token is an error ([`RepeatedToken`])
/// and the run changes nothing.
pub(crate) async fn all_pages<T, E, Fut>(
    mut page: impl FnMut(Option<String>) -> Fut,
) -> Result<Vec<T>, PageError<E>>
where
    Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (batch, next) = page(token.clone()).await.map_err(PageError::Call)?;
        items.extend(batch);
        match next.filter(|t| !t.is_empty()) {
            None => return Ok(items),
            Some(next) if token.as_deref() == Some(next.as_str()) => {
                return Err(PageError::Repeated(RepeatedToken(next)))
            }
            Some(next) => token = Some(next),
        }
    }
}

#[cfg(test)]
mod adapter_helper_tests {
    use super::*;
    use aws_sdk_sts::error::ErrorMetadata;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

    type Err = SdkError<GetCallerIdentityError, ()>;

    fn service(code: &str) -> Err {
        SdkError::service_error(
            GetCallerIdentityError::generic(ErrorMetadata::builder().code(code).build()),
            (),
        )
    }

    /// A service error is classified by its code, whatever the operation.
    #[test]
    fn service_errors_are_classified_by_code() {
        assert_eq!(
            classify(&service("AccessDeniedException")),
            Failure::Service("AccessDeniedException".into())
        );
    }

    /// Timeouts and connection failures mean the endpoint is unreachable; other dispatch
    /// failures happen before sending, i.e. while getting credentials.
    #[test]
    fn dispatch_failures_split_into_unreachable_and_credentials() {
        use aws_sdk_sts::error::ConnectorError;
        let io: Err = SdkError::dispatch_failure(ConnectorError::io("refused".into()));
        assert_eq!(classify(&io), Failure::Unreachable);
        let timeout: Err = SdkError::timeout_error("slow");
        assert_eq!(classify(&timeout), Failure::Unreachable);
        let creds: Err =
            SdkError::dispatch_failure(ConnectorError::other("no credentials".into(), None));
        assert_eq!(classify(&creds), Failure::Credentials);
        let build: Err = SdkError::construction_failure("bad input");
        assert_eq!(classify(&build), Failure::Other);
    }

    type Page = std::future::Ready<Result<(Vec<u32>, Option<String>), ()>>;
    type Sent = std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>;

    /// A page source that serves `script` in order and records the tokens it was sent.
    fn pages(
        script: Vec<(Vec<u32>, Option<&'static str>)>,
    ) -> (impl FnMut(Option<String>) -> Page, Sent) {
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = sent.clone();
        let mut script = script.into_iter();
        let f = move |token: Option<String>| {
            log.lock().unwrap().push(token);
            let (items, next) = script.next().expect("asked for a page past the end");
            std::future::ready(Ok((items, next.map(str::to_string))))
        };
        (f, sent)
    }

    /// Empty pages that still carry a token are followed to the last page.
    #[tokio::test]
    async fn empty_pages_with_tokens_are_followed() {
        let (f, sent) = pages(vec![
            (vec![1, 2], Some("a")),
            (vec![], Some("b")),
            (vec![], Some("c")),
            (vec![3], Some("")),
        ]);
        assert_eq!(all_pages(f).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(
            *sent.lock().unwrap(),
            vec![None, Some("a".into()), Some("b".into()), Some("c".into())]
        );
    }

    /// A token handed back unchanged stops with an error instead of looping.
    #[tokio::test]
    async fn repeated_token_is_an_error() {
        let (f, _) = pages(vec![(vec![1], Some("a")), (vec![2], Some("a"))]);
        assert!(matches!(all_pages(f).await, Err(PageError::Repeated(_))));
    }
}
