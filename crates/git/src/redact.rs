//! Keeping credentials out of messages: repository URLs may carry
//! `user:token@`, and git repeats URLs in its errors.

/// Removes the userinfo part (`user:password@`) of every `scheme://...` URL
/// in `text`.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        // The authority ends at the first '/', whitespace or quote.
        let authority_len = after
            .find(|c: char| c == '/' || c == '\'' || c == '"' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_userinfo_everywhere() {
        assert_eq!(
            redact_urls("fatal: unable to access 'https://bob:s3cret@git.example.com/r.git/': 403"),
            "fatal: unable to access 'https://git.example.com/r.git/': 403"
        );
        assert_eq!(
            redact_urls("ssh://git@host:22/x and https://t@h"),
            "ssh://host:22/x and https://h"
        );
        assert_eq!(redact_urls("no urls here"), "no urls here");
        assert_eq!(redact_urls("file:///tmp/x"), "file:///tmp/x");
        assert_eq!(redact_urls("trailing ://"), "trailing ://");
    }
}
