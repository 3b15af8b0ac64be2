//! AWS identifiers the settings and events carry, checked by their documented patterns.

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `ou-` + 4 to 32 lowercase alphanumerics + `-` + 8 to 32 more (the documented pattern), or a
/// root id `r-` + 4 to 32, so a whole organization can be exempted in a sandbox.
pub fn is_ou_id(s: &str) -> bool {
    let alnum = |p: &str, min: usize| {
        p.len() >= min
            && p.len() <= 32
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(rest) = s.strip_prefix("ou-") {
        match rest.split_once('-') {
            Some((a, b)) => alnum(a, 4) && alnum(b, 8),
            None => false,
        }
    } else if let Some(rest) = s.strip_prefix("r-") {
        alnum(rest, 4)
    } else {
        false
    }
}
