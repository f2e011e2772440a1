//! Registry authentication challenges (`WWW-Authenticate`) and bearer tokens from a token service.
//!
//! Owns parsing challenges, building token requests (anonymous, basic, or an OAuth2 refresh-token
//! grant for identity tokens) and reading token responses with their lifetime. It sends nothing
//! itself: the client runs the requests this module builds through its transport.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::credentials::Credential;

/// Token lifetime assumed when the token service gives none (distribution's token spec default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// OAuth2 client id sent with refresh-token grants.
const CLIENT_ID: &str = "syncgate";

/// How a registry wants requests authenticated, as announced by `GET /v2/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    /// The registry answered `/v2/` without asking for credentials.
    None,
    /// HTTP basic authentication.
    Basic,
    /// Bearer tokens from the token service at `realm`.
    Bearer {
        /// The token service URL.
        realm: String,
        /// The `service` parameter to pass on.
        service: Option<String>,
    },
}

impl Challenge {
    /// Reads the challenges in `WWW-Authenticate` header values; Bearer is preferred over Basic.
    /// A 401 whose challenges cannot be read is treated as Basic.
    pub(super) fn from_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        for value in values {
            for (scheme, params) in parse_challenges(value) {
                if scheme.eq_ignore_ascii_case("bearer") {
                    let param = |name: &str| {
                        params.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone())
                    };
                    if let Some(realm) = param("realm").filter(|realm| !realm.is_empty()) {
                        return Self::Bearer { realm, service: param("service") };
                    }
                }
            }
        }
        Self::Basic
    }
}

/// Splits one `WWW-Authenticate` value into `(scheme, [(param, value)])` challenges (RFC 9110 §11.6.1).
fn parse_challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut challenges: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let token_end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let (token, after) = rest.split_at(token_end);
        if token.is_empty() {
            // Not a token: skip one character so malformed input cannot loop.
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
            continue;
        }
        let after_spaces = after.trim_start_matches([' ', '\t']);
        if let Some(after_equals) = after_spaces.strip_prefix('=') {
            // A parameter of the current challenge.
            let (param_value, remainder) = parse_param_value(after_equals.trim_start_matches([' ', '\t']));
            if let Some((_, params)) = challenges.last_mut() {
                params.push((token.to_owned(), param_value));
            }
            rest = remainder;
        } else {
            challenges.push((token.to_owned(), Vec::new()));
            rest = after_spaces;
        }
    }
    challenges
}

/// Reads a parameter value (token or quoted string) and returns it with the remaining input.
fn parse_param_value(input: &str) -> (String, &str) {
    if let Some(quoted) = input.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, quoted.get(index + 1..).unwrap_or_default()),
                _ => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = input.find([',', ' ', '\t']).unwrap_or(input.len());
        let (value, rest) = input.split_at(end);
        (value.to_owned(), rest)
    }
}

/// RFC 9110 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A bearer token and when to stop using it.
#[derive(Clone)]
pub(super) struct Token {
    /// The token value.
    value: String,
    /// When it should no longer be used (a margin before the service's expiry).
    refresh_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("value", &"<redacted>").field("refresh_at", &self.refresh_at).finish()
    }
}

impl Token {
    /// Whether the token can still be used.
    pub(super) fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }

    /// The `Authorization` header value.
    pub(super) fn header(&self) -> String {
        format!("Bearer {}", self.value)
    }

    /// Reads a token service response (`token` or `access_token`, `expires_in`), received at `now`.
    pub(super) fn from_response(body: &[u8], now: Instant) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Response {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let response: Response = serde_json::from_slice(body)
            .map_err(|_| "token service answered with something other than a token".to_owned())?;
        let value = response
            .token
            .filter(|token| !token.is_empty())
            .or(response.access_token.filter(|token| !token.is_empty()))
            .ok_or_else(|| "token service answered without a token".to_owned())?;
        let lifetime =
            response.expires_in.map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs).max(DEFAULT_TOKEN_LIFETIME);
        // Refresh a tenth early so a token does not expire between being read and being used.
        Ok(Self { value, refresh_at: now + lifetime * 9 / 10 })
    }
}

/// How to ask the token service for a pull token.
#[derive(Debug)]
pub(super) enum TokenRequest {
    /// `GET realm?service=…&scope=…`, with basic auth when `basic` is set.
    Get {
        /// The full URL.
        url: reqwest::Url,
        /// `Authorization: Basic …` value, if credentials are sent.
        basic: Option<String>,
    },
    /// `POST realm` with an OAuth2 refresh-token grant (identity tokens).
    Refresh {
        /// The realm URL.
        url: reqwest::Url,
        /// The `application/x-www-form-urlencoded` body.
        form: String,
    },
}

impl TokenRequest {
    /// Builds the request for a pull token on `repository`.
    pub(super) fn new(
        realm: &str,
        service: Option<&str>,
        repository: &str,
        credential: Option<&Credential>,
    ) -> Result<Self, String> {
        let mut url = reqwest::Url::parse(realm).map_err(|_| format!("token service realm {realm:?} is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("token service realm {realm:?} is not an http(s) URL"));
        }
        let scope = format!("repository:{repository}:pull");
        match credential {
            Some(Credential::IdentityToken(token)) => {
                let mut form = vec![("grant_type", "refresh_token"), ("client_id", CLIENT_ID)];
                if let Some(service) = service {
                    form.push(("service", service));
                }
                form.push(("scope", &scope));
                form.push(("refresh_token", token));
                Ok(Self::Refresh { url, form: form_encode(&form) })
            }
            other => {
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    query.append_pair("scope", &scope);
                }
                let basic = match other {
                    Some(Credential::Basic { username, password }) => Some(basic_header(username, password)),
                    _ => None,
                };
                Ok(Self::Get { url, basic })
            }
        }
    }

    /// The URL the request goes to.
    pub(super) fn url(&self) -> &reqwest::Url {
        match self {
            Self::Get { url, .. } | Self::Refresh { url, .. } => url,
        }
    }

    /// Whether the request carries a secret.
    pub(super) fn sends_secret(&self) -> bool {
        match self {
            Self::Get { basic, .. } => basic.is_some(),
            Self::Refresh { .. } => true,
        }
    }

    /// The request, ready to send.
    pub(super) fn build(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        match self {
            Self::Get { url, basic } => {
                let request = client.get(url.clone());
                match basic {
                    Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
                    None => request,
                }
            }
            Self::Refresh { url, form } => client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.clone()),
        }
    }
}

/// `Authorization: Basic …` for a user name and password.
pub(super) fn basic_header(username: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(byte)),
                b' ' => out.push('+'),
                _ => {
                    let _ = write!(out, "%{byte:02X}");
                }
            }
        }
        out
    };
    pairs.iter().map(|(key, value)| format!("{}={}", encode(key), encode(value))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::docker_hub(
        &[r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#],
        Challenge::Bearer { realm: "https://auth.docker.io/token".to_owned(), service: Some("registry.docker.io".to_owned()) }
    )]
    #[case::basic(&[r#"Basic realm="test-realm""#], Challenge::Basic)]
    #[case::bearer_preferred_over_basic(
        &[r#"Basic realm="x""#, r#"Bearer realm="https://t.example/token""#],
        Challenge::Bearer { realm: "https://t.example/token".to_owned(), service: None }
    )]
    #[case::two_challenges_in_one_value(
        &[r#"Basic realm="x", Bearer realm="https://t.example/token", service="reg""#],
        Challenge::Bearer { realm: "https://t.example/token".to_owned(), service: Some("reg".to_owned()) }
    )]
    #[case::lowercase_scheme_unquoted(
        &["bearer realm=https://t.example/token,service=reg"],
        Challenge::Bearer { realm: "https://t.example/token".to_owned(), service: Some("reg".to_owned()) }
    )]
    #[case::escaped_quote(
        &[r#"Bearer realm="https://t.example/a\"b""#],
        Challenge::Bearer { realm: "https://t.example/a\"b".to_owned(), service: None }
    )]
    #[case::bearer_without_realm_is_basic(&["Bearer service=x"], Challenge::Basic)]
    #[case::garbage(&["=,\"\u{1F600}"], Challenge::Basic)]
    fn challenges(#[case] values: &[&str], #[case] expected: Challenge) {
        assert_eq!(Challenge::from_headers(values.iter().copied()), expected);
    }

    #[test]
    fn token_response_lifetimes() {
        let now = Instant::now();
        let token = Token::from_response(br#"{"token":"t","expires_in":300}"#, now).unwrap();
        assert_eq!(token.header(), "Bearer t");
        assert_eq!(token.refresh_at, now + Duration::from_secs(270));
        let token = Token::from_response(br#"{"access_token":"a","expires_in":5}"#, now).unwrap();
        assert_eq!(token.header(), "Bearer a");
        assert_eq!(token.refresh_at, now + Duration::from_secs(54));
        assert!(Token::from_response(br#"{"token":""}"#, now).is_err());
        assert!(Token::from_response(b"<html>", now).is_err());
        let secret = Token::from_response(br#"{"token":"hunter2"}"#, now).unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn token_request_shapes() {
        let basic = Credential::Basic { username: "u".to_owned(), password: "p w".to_owned() };
        let request = TokenRequest::new("https://t.example/token?x=1", Some("reg"), "acme/api", Some(&basic)).unwrap();
        assert_eq!(
            request.url().as_str(),
            "https://t.example/token?x=1&service=reg&scope=repository%3Aacme%2Fapi%3Apull"
        );
        assert!(request.sends_secret());
        let request = TokenRequest::new("https://t.example/token", None, "acme/api", None).unwrap();
        assert!(!request.sends_secret());
        let identity = Credential::IdentityToken("r/t+1".to_owned());
        match TokenRequest::new("https://t.example/token", Some("reg"), "a", Some(&identity)).unwrap() {
            TokenRequest::Refresh { form, .. } => assert_eq!(
                form,
                "grant_type=refresh_token&client_id=syncgate&service=reg&scope=repository%3Aa%3Apull&refresh_token=r%2Ft%2B1"
            ),
            other @ TokenRequest::Get { .. } => panic!("{other:?}"),
        }
        assert!(TokenRequest::new("file:///etc/passwd", None, "a", None).is_err());
        assert!(TokenRequest::new("not a url", None, "a", None).is_err());
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        assert_eq!(basic_header("user", "pass"), "Basic dXNlcjpwYXNz");
    }
}
