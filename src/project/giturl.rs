//! Argo CD's `git.NormalizeGitURL`, with the part of Go's `net/url` (`Parse` and `URL.String`) it
//! depends on.
//!
//! Owns repository-URL normalisation for source-repository matching, including Argo's quirk that a
//! URL Go cannot parse normalises to the empty string. It decides nothing about permissions.
//!
//! Why not the `url` crate: it implements the WHATWG URL standard, which differs from Go's `net/url`
//! exactly where matching depends on it. WHATWG refuses scheme-less strings (`*`, `github.com/acme/*`,
//! patterns Go parses as paths), adds a `/` to an empty path, drops default ports, resolves `..`,
//! converts hosts to punycode and percent-encodes `{`/`}` differently. Each would change which
//! repositories a project permits, so the Go behaviour is ported here.
//!
//! Known differences from Go: lowercasing uses Rust's Unicode mapping (Go maps a few characters such
//! as `İ` differently); IPv6 zone identifiers are accepted without Go's zone-specific escaping rules.

use std::sync::LazyLock;

use regex::Regex;

/// Argo CD's SSH URL test (`util/git`): an optional `ssh://`, a user without `/` or `:`, `@`, a rest
/// without `@`.
static SSH_URL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^(ssh://)?([^/:]*?)@[^@]+$").ok());

/// `git.NormalizeGitURL`: lowercase and trim; turn `user@host:path` into `ssh://user@host/path`;
/// strip one trailing `.git`; parse and re-print as Go's `net/url` does; strip a leading `ssh://`.
/// A URL Go cannot parse (a non-numeric port, a bad `%` escape, a control character, a colon in the
/// first segment of a scheme-less URL, …) normalises to `""`.
#[must_use]
pub fn normalize_git_url(repo: &str) -> String {
    let mut repo = repo.trim().to_lowercase();
    if is_ssh_url(&repo) && !repo.starts_with("ssh://") {
        // Replace the first colon of `git@host:path` so Go does not read the path as a port.
        repo = format!("ssh://{}", repo.replacen(':', "/", 1));
    }
    if let Some(stripped) = repo.strip_suffix(".git") {
        repo = stripped.to_owned();
    }
    match GoUrl::parse(&repo) {
        Some(url) => {
            let printed = url.to_string();
            printed.strip_prefix("ssh://").map(str::to_owned).unwrap_or(printed)
        }
        None => String::new(),
    }
}

/// `git.IsSSHURL`.
fn is_ssh_url(repo: &str) -> bool {
    SSH_URL.as_ref().is_some_and(|re| re.is_match(repo))
}

/// The fields of Go's `url.URL` that `Parse` fills and `String` prints.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct GoUrl {
    scheme: String,
    opaque: String,
    user: Option<(Vec<u8>, Option<Vec<u8>>)>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_path: String,
    omit_host: bool,
    force_query: bool,
    raw_query: String,
    fragment: Vec<u8>,
    raw_fragment: String,
}

/// Go's `encoding` modes for escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

impl GoUrl {
    /// `url.Parse`; `None` where Go returns an error.
    fn parse(raw: &str) -> Option<Self> {
        let (rest, fragment) = match raw.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (raw, None),
        };
        let mut url = Self::parse_without_fragment(rest)?;
        if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
            url.fragment = unescape(fragment, Mode::Fragment)?;
            if escape(&url.fragment, Mode::Fragment) != fragment {
                fragment.clone_into(&mut url.raw_fragment);
            }
        }
        Some(url)
    }

    fn parse_without_fragment(raw: &str) -> Option<Self> {
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return None;
        }
        let mut url = GoUrl::default();
        if raw == "*" {
            url.path = b"*".to_vec();
            return Some(url);
        }
        let (scheme, rest) = scheme(raw)?;
        url.scheme = scheme.to_lowercase();
        let mut rest = rest;
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            url.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else if let Some((before, query)) = rest.split_once('?') {
            query.clone_into(&mut url.raw_query);
            rest = before;
        }
        if !rest.starts_with('/') {
            if !url.scheme.is_empty() {
                // A rootless path after a scheme is opaque.
                rest.clone_into(&mut url.opaque);
                return Some(url);
            }
            // A colon in the first segment of a relative URL would read as a scheme.
            if rest.split('/').next().is_some_and(|segment| segment.contains(':')) {
                return None;
            }
        }
        if rest.starts_with("//") && (!url.scheme.is_empty() || !rest.starts_with("///")) {
            let authority_and_path = &rest[2..];
            let (authority, path) = match authority_and_path.find('/') {
                Some(i) => authority_and_path.split_at(i),
                None => (authority_and_path, ""),
            };
            let (user, host) = parse_authority(authority)?;
            url.user = user;
            url.host = host;
            rest = path;
        } else if !url.scheme.is_empty() && rest.starts_with('/') {
            url.omit_host = true;
        }
        url.path = unescape(rest, Mode::Path)?;
        if escape(&url.path, Mode::Path) != rest {
            rest.clone_into(&mut url.raw_path);
        }
        Some(url)
    }

    /// `URL.EscapedPath`.
    fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).is_some_and(|p| p == self.path)
        {
            return self.raw_path.clone();
        }
        if self.path == b"*" {
            return "*".to_owned();
        }
        escape(&self.path, Mode::Path)
    }

    /// `URL.EscapedFragment`.
    fn escaped_fragment(&self) -> String {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).is_some_and(|f| f == self.fragment)
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }
}

impl std::fmt::Display for GoUrl {
    /// `URL.String`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if self.opaque.is_empty() {
            let has_authority = !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
            let omitted = self.omit_host && self.host.is_empty() && self.user.is_none();
            if has_authority && !omitted {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if let Some((user, password)) = &self.user {
                    out.push_str(&escape(user, Mode::UserPassword));
                    if let Some(password) = password {
                        out.push(':');
                        out.push_str(&escape(password, Mode::UserPassword));
                    }
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Mode::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().is_some_and(|segment| segment.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        } else {
            out.push_str(&self.opaque);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&self.escaped_fragment());
        }
        f.write_str(&out)
    }
}

/// `getScheme`: `None` for a URL starting with `:`.
fn scheme(raw: &str) -> Option<(&str, &str)> {
    for (i, b) in raw.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return None,
            b':' => return Some((&raw[..i], &raw[i + 1..])),
            _ => return Some(("", raw)),
        }
    }
    Some(("", raw))
}

type Userinfo = (Vec<u8>, Option<Vec<u8>>);

/// `parseAuthority`.
fn parse_authority(authority: &str) -> Option<(Option<Userinfo>, Vec<u8>)> {
    let Some(at) = authority.rfind('@') else {
        return Some((None, parse_host(authority)?));
    };
    let host = parse_host(&authority[at + 1..])?;
    let userinfo = &authority[..at];
    if !valid_userinfo(userinfo) {
        return None;
    }
    let user = match userinfo.split_once(':') {
        None => (unescape(userinfo, Mode::UserPassword)?, None),
        Some((name, password)) => (unescape(name, Mode::UserPassword)?, Some(unescape(password, Mode::UserPassword)?)),
    };
    Some((Some(user), host))
}

/// `parseHost`, including the port check that makes `host:team` fail (Argo's empty-string quirk).
fn parse_host(host: &str) -> Option<Vec<u8>> {
    if let Some(literal) = host.strip_prefix('[') {
        let close = literal.rfind(']')?;
        if !valid_optional_port(&literal[close + 1..]) {
            return None;
        }
        let address = &literal[..close];
        let address = address.split_once("%25").map_or(address, |(address, _zone)| address);
        address.parse::<std::net::Ipv6Addr>().ok()?;
    } else if host.contains('[') {
        return None;
    } else if let Some(colon) = host.rfind(':')
        && !valid_optional_port(&host[colon..])
    {
        return None;
    }
    unescape(host, Mode::Host)
}

/// `validOptionalPort`: empty, or `:` followed by digits only.
fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || port.strip_prefix(':').is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// `validUserinfo`.
fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

/// `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

/// `unescape`; `None` for a bad `%` escape or a character a host cannot hold.
fn unescape(s: &str, mode: Mode) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value)?;
                let lo = bytes.get(i + 2).copied().and_then(hex_value)?;
                // In a host, `%` may only encode non-ASCII bytes, or be `%25` (IPv6 zones).
                if mode == Mode::Host && hi < 8 && &bytes[i..i + 3] != b"%25" {
                    return None;
                }
                out.push((hi << 4) | lo);
                i += 3;
            }
            b => {
                if mode == Mode::Host && b < 0x80 && should_escape(b, mode) {
                    return None;
                }
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `escape` (uppercase hex, as Go writes it).
fn escape(s: &[u8], mode: Mode) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if should_escape(b, mode) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// `validEncoded`.
fn valid_encoded(s: &str, mode: Mode) -> bool {
    s.bytes().all(|b| {
        matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@')
            || matches!(b, b'[' | b']' | b'%')
            || !should_escape(b, mode)
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::https_lowercased_and_git_stripped(
        "https://Git.Example.com/Platform/Infra.git",
        "https://git.example.com/platform/infra"
    )]
    #[case::trimmed(" https://github.com/acme/app\n", "https://github.com/acme/app")]
    #[case::scp_style_ssh("git@git.example.com:Platform/Infra.git", "git@git.example.com/platform/infra")]
    #[case::ssh_scheme("ssh://git@git.example.com/platform/infra", "git@git.example.com/platform/infra")]
    #[case::ssh_with_port(
        "ssh://git@git.example.com:2222/platform/infra.git",
        "git@git.example.com:2222/platform/infra"
    )]
    #[case::non_numeric_port_is_empty("ssh://git@git.example.com:team/repo", "")]
    #[case::other_non_numeric_port_is_empty("ssh://git@other.example.org:x/y", "")]
    #[case::https_non_numeric_port_is_empty("https://git.example.com:abc/x", "")]
    #[case::numeric_port_kept("https://git.example.com:8443/x", "https://git.example.com:8443/x")]
    #[case::no_trailing_slash_added("https://github.com", "https://github.com")]
    #[case::only_one_git_suffix("https://x.io/a.git.git", "https://x.io/a.git")]
    #[case::star("*", "*")]
    #[case::glob_path_kept("https://github.com/acme/team-a-*", "https://github.com/acme/team-a-*")]
    #[case::double_star_kept("https://git.example.com/sandbox/**", "https://git.example.com/sandbox/**")]
    #[case::glob_host_kept("https://*.example.com/*", "https://*.example.com/*")]
    #[case::braces_in_path_are_escaped_as_go_does("https://github.com/acme/{a,b}", "https://github.com/acme/%7Ba,b%7D")]
    #[case::braces_in_host_fail("https://{a,b}.example.com/x", "")]
    #[case::question_mark_is_a_query_reprinted("https://github.com/acme/app-?", "https://github.com/acme/app-?")]
    #[case::scheme_less_path("github.com/acme/app", "github.com/acme/app")]
    #[case::scheme_less_glob("github.com/acme/*", "github.com/acme/*")]
    #[case::host_colon_is_opaque("git.example.com:team/repo", "git.example.com:team/repo")]
    #[case::colon_in_first_segment_fails("1git.example.com:team/repo", "")]
    #[case::bad_escape_fails("https://github.com/acme/%zz", "")]
    #[case::good_escape_kept("https://github.com/acme/a%20b", "https://github.com/acme/a%20b")]
    #[case::control_character_fails("https://github.com/acme/\u{7f}x", "")]
    #[case::leading_colon_fails(":foo", "")]
    #[case::empty("", "")]
    #[case::userinfo_kept("https://user:pw@github.com/acme/app", "https://user:pw@github.com/acme/app")]
    #[case::ipv6_host("https://[::1]:8080/x", "https://[::1]:8080/x")]
    #[case::bad_ipv6_host("https://[::1/x", "")]
    #[case::fragment_kept("https://github.com/acme/app#main", "https://github.com/acme/app#main")]
    #[case::empty_fragment_dropped("https://github.com/acme/app#", "https://github.com/acme/app")]
    #[case::non_ascii_path_escaped("https://github.com/acme/ü", "https://github.com/acme/%C3%BC")]
    fn normalises_like_argo_cd(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(normalize_git_url(input), expected, "{input}");
    }

    #[test]
    fn deny_entry_is_normalised_without_its_bang() {
        // Argo normalises `X` of `!X` and re-adds the `!`; a bare `!X` would be a path.
        assert_eq!(
            format!("!{}", normalize_git_url("https://Git.Example.com/Sandbox/*")),
            "!https://git.example.com/sandbox/*"
        );
    }

    #[test]
    fn two_unparsable_urls_normalise_equal() {
        assert_eq!(
            normalize_git_url("ssh://git@git.example.com:team/repo"),
            normalize_git_url("ssh://git@other.example.org:x/y")
        );
    }
}
