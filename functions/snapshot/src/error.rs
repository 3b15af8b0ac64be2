//! The one error type the library returns. Each variant says what failed and what to do
//! about it, and keeps the underlying (SDK) error as its `source` so logs show the cause
//! chain. The Lambda's one-line log format and `Diagnostic` (whose `errorType` is the
//! variant) live in `lambda`.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// A setting is missing or invalid; names the variable, the value and what is expected.
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var} has an invalid value {value:?}: {hint}")]
    Invalid {
        var: &'static str,
        value: String,
        hint: String,
    },
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),

    /// The walk failed: nothing was written and nothing published.
    #[error("reading the organization failed ({operation}): {hint}")]
    Organizations {
        operation: &'static str,
        hint: String,
        #[source]
        source: BoxError,
    },

    /// Partner Central was a configured source and could not be read: nothing changed.
    #[error("reading Partner Central failed ({operation}): {hint}")]
    PartnerCentral {
        operation: &'static str,
        hint: String,
        #[source]
        source: BoxError,
    },

    /// No AWS credentials could be loaded (told before any AWS call, see `aws::preflight`).
    #[error("no AWS credentials: {hint}")]
    Credentials {
        hint: String,
        #[source]
        source: BoxError,
    },

    #[error("DynamoDB table {table} ({operation}): {hint}")]
    Store {
        table: String,
        operation: &'static str,
        hint: String,
        #[source]
        source: BoxError,
    },

    /// The state is stored; the alerts stay queued in the table and the next run sends them.
    #[error("publishing to SNS topic {topic} failed: {hint}; {queued} alert(s) stay queued and the next run sends them")]
    Notify {
        topic: String,
        hint: String,
        queued: usize,
        #[source]
        source: BoxError,
    },

    /// The invoke payload is none of those `trigger` accepts.
    #[error("unsupported invoke payload: {0}. Send an EventBridge event the function handles (the schedule's Scheduled Event, an Organizations or Partner Central change event), an SQS batch of them, or {{}} for a manual run")]
    BadEvent(String),

    /// A stored item does not have the documented shape.
    #[error("DynamoDB table {table}: item {key} is not in the expected format: {reason}")]
    CorruptItem {
        table: String,
        key: String,
        reason: String,
    },

    #[error("{0}")]
    NotFound(String),

    /// The run would not have finished before the invoke's deadline: it stopped during the
    /// walk, before any write or publish.
    #[error("stopped with {left_ms} ms left before the deadline (safety margin {margin_ms} ms) after {progress}; nothing was written or published. Give a run more time or less work: raise the function's Timeout (at most 900 s) or MemorySize (more CPU and network), spread the tag reads (a lower APNWATCH_TAG_SWEEP_ABOVE) or drop a source from APNWATCH_LINK_SOURCES, and run the schedule less often if runs overlap")]
    Deadline {
        progress: String,
        left_ms: u64,
        margin_ms: u64,
    },
    /// `apnwatch doctor`: some checks FAILed; `output` is the report the command prints.
    #[error("doctor: failed check(s): {}; see `what to do` under each", ids.join(", "))]
    Unhealthy { ids: Vec<String>, output: String },
    /// `apnwatch invite`: some ids were not invited; `output` is what the command prints.
    #[error("not invited: {}; see `apnwatch history ACCOUNT_ID` for Partner Central's reason", ids.join(", "))]
    NotInvited { ids: Vec<String>, output: String },
    /// A file the CLI was asked to write (`apnwatch report --html FILE`).
    #[error("cannot write {path}: check that its folder exists and is writable")]
    WriteFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The variant name, used as the Lambda `errorType` and the CLI's error prefix.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "ConfigError",
            Self::Organizations { .. } => "OrganizationsError",
            Self::PartnerCentral { .. } => "PartnerCentralError",
            Self::Credentials { .. } => "CredentialsError",
            Self::Store { .. } => "StoreError",
            Self::Notify { .. } => "NotifyError",
            Self::BadEvent(_) => "BadEvent",
            Self::CorruptItem { .. } => "CorruptItem",
            Self::NotFound(_) => "NotFound",
            Self::Deadline { .. } => "DeadlineError",
            Self::NotInvited { .. } => "NotInvited",
            Self::Unhealthy { .. } => "DoctorFailed",
            Self::WriteFile { .. } => "WriteFile",
        }
    }

    /// The message with its cause chain, on one line.
    pub fn one_line(&self) -> String {
        let mut s = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let text = c.to_string();
            if !s.contains(&text) {
                s.push_str(": ");
                s.push_str(&text);
            }
            cause = c.source();
        }
        s.replace('\n', " ")
    }
}
