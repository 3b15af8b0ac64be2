//! Whether the CLI's log lines on stderr carry ANSI colour codes. A warning redirected to a
//! file or read by a script must be plain text, so colour only on a terminal, and never with
//! `NO_COLOR` set to a non-empty value (<https://no-color.org>).

use std::ffi::OsString;
use std::io::IsTerminal;

/// The decision for this process's stderr and environment.
pub fn stderr_ansi() -> bool {
    ansi(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    )
}

/// Colour when writing to a terminal and `NO_COLOR` is unset or empty.
pub fn ansi(is_terminal: bool, no_color: Option<OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe or a file never gets colour; a terminal does unless NO_COLOR says otherwise.
    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(ansi(true, None));
        assert!(ansi(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!ansi(true, Some("1".into())));
        assert!(!ansi(false, None));
        assert!(!ansi(false, Some("1".into())));
    }
}
