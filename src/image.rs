//! Container image references: parsing, Docker-style normalisation, digests and pinned images.
//!
//! The grammar is the one of `github.com/distribution/reference`:
//!
//! ```text
//! reference       := name [ ":" tag ] [ "@" digest ]
//! name            := [ domain "/" ] path-component ( "/" path-component )*
//! domain          := host [ ":" port ]
//! host            := domain-name | "[" ipv6-address "]"
//! domain-name     := domain-component ( "." domain-component )*
//! domain-component:= [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! port            := [0-9]+
//! path-component  := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
//! tag             := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest          := algorithm ":" encoded      (OCI image-spec)
//! ```
//!
//! Names are normalised the way `docker pull` reads them: the first path segment is a registry only
//! when it contains `.` or `:`, is `localhost`, or has an uppercase letter; otherwise the registry is
//! `docker.io`. `index.docker.io` becomes `docker.io`, and a single-segment repository on Docker Hub
//! gets the `library/` namespace. No tag is ever invented: `nginx` stays tagless, and
//! [`ImageRef::is_latest`] treats that as `latest`.
//!
//! Two deliberate departures from the Go library, both stricter: a first segment that looks like a
//! registry (it contains `.` or `:`) but is not a valid host is rejected instead of being silently
//! read as part of a registry-less path, and the repository length limit (255) is applied to the
//! normalised path, as current `distribution/reference` does.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Docker Hub's canonical registry name, used when a reference names no registry.
pub const DOCKER_HUB: &str = "docker.io";

/// The legacy Docker Hub host, normalised to [`DOCKER_HUB`].
const LEGACY_DOCKER_HUB: &str = "index.docker.io";

/// Namespace of Docker Hub's official images (`nginx` is `docker.io/library/nginx`).
const OFFICIAL_NAMESPACE: &str = "library/";

/// The one registry host that needs neither a `.` nor a port to be recognised as a host.
const LOCALHOST: &str = "localhost";

/// Longest repository path accepted, in characters (after normalisation, `library/` included).
pub const MAX_REPOSITORY_LEN: usize = 255;

/// Longest tag accepted, in characters.
pub const MAX_TAG_LEN: usize = 128;

/// Digest algorithms that can be verified, with the length of their lowercase hex encoding.
const REGISTERED_ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

/// Everything that can be wrong with an image reference or a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The reference is the empty string.
    #[error("invalid image reference \"\": empty")]
    Empty,

    /// The reference is a bare 64-character hex string, which Docker would read as an image ID.
    #[error(
        "invalid image reference {reference:?}: cannot specify 64-byte hexadecimal strings, name the repository and use \"name@sha256:<hex>\""
    )]
    HexIdentifier {
        /// The reference as written.
        reference: String,
    },

    /// The repository path contains an uppercase letter.
    #[error("invalid image reference {reference:?}: repository name must be lowercase")]
    Uppercase {
        /// The reference as written.
        reference: String,
    },

    /// The normalised repository path is longer than [`MAX_REPOSITORY_LEN`].
    #[error("invalid image reference {reference:?}: repository name is longer than 255 characters (got {len})")]
    NameTooLong {
        /// The reference as written.
        reference: String,
        /// Length of the normalised repository path.
        len: usize,
    },

    /// The tag is well-formed but longer than [`MAX_TAG_LEN`].
    #[error("invalid image reference {reference:?}: tag {tag:?} is longer than 128 characters")]
    TagTooLong {
        /// The reference as written.
        reference: String,
        /// The offending tag.
        tag: String,
    },

    /// The reference does not follow the grammar; `reason` says which part and what it must look like.
    #[error("invalid image reference {reference:?}: {reason}")]
    Syntax {
        /// The reference as written.
        reference: String,
        /// What is wrong, and what is required instead.
        reason: String,
    },

    /// The digest after `@` in a reference is not a valid, supported digest.
    #[error("invalid image reference {reference:?}: invalid digest: {reason}")]
    InvalidDigest {
        /// The reference as written.
        reference: String,
        /// Why the digest was rejected.
        reason: DigestError,
    },

    /// A standalone digest (not part of a reference) is not a valid, supported digest.
    #[error("invalid digest {value:?}: {reason}")]
    Digest {
        /// The digest as written.
        value: String,
        /// Why the digest was rejected.
        reason: DigestError,
    },
}

/// Why a digest (`algorithm:encoded`) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Nothing follows the `@`, or the digest string is empty.
    #[error("digest is empty, expected \"sha256:<64 lowercase hex characters>\"")]
    Empty,

    /// There is no `:` between the algorithm and the encoded value.
    #[error("expected \"<algorithm>:<encoded>\", found no ':'")]
    MissingSeparator,

    /// The algorithm does not match the OCI grammar `[a-z0-9]+([+._-][a-z0-9]+)*`.
    #[error("digest algorithm {algorithm:?} must match [a-z0-9]+([+._-][a-z0-9]+)*")]
    InvalidAlgorithm {
        /// The algorithm as written.
        algorithm: String,
    },

    /// The algorithm is well-formed but not one that can be verified.
    #[error("unsupported digest algorithm {algorithm:?}, expected sha256, sha384 or sha512")]
    UnsupportedAlgorithm {
        /// The algorithm as written.
        algorithm: String,
    },

    /// The encoded value of an unregistered algorithm does not match `[a-zA-Z0-9=_-]+`.
    #[error("digest encoded value must match [a-zA-Z0-9=_-]+")]
    InvalidEncoded,

    /// The hex value of a registered algorithm has the wrong length.
    #[error("{algorithm} digest must be {expected} lowercase hex characters, got {got}")]
    WrongLength {
        /// The registered algorithm.
        algorithm: &'static str,
        /// Required number of hex characters.
        expected: usize,
        /// Number of characters found.
        got: usize,
    },

    /// The hex value of a registered algorithm has the right length but a character outside `[0-9a-f]`.
    #[error("{algorithm} digest must be {expected} lowercase hex characters, found {found:?} at position {position}")]
    NotLowercaseHex {
        /// The registered algorithm.
        algorithm: &'static str,
        /// Required number of hex characters.
        expected: usize,
        /// The first offending character.
        found: char,
        /// Its position (in characters) within the hex value.
        position: usize,
    },
}

/// A validated content digest such as `sha256:<64 lowercase hex>` (sha256, sha384 or sha512).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses and validates a digest; same as [`str::parse`].
    pub fn parse(value: &str) -> Result<Self, ImageError> {
        match check_digest(value) {
            Ok(()) => Ok(Self(value.to_owned())),
            Err(reason) => Err(ImageError::Digest { value: value.to_owned(), reason }),
        }
    }

    /// The algorithm, e.g. `sha256`.
    #[must_use]
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(algorithm, _)| algorithm)
    }

    /// The lowercase hex value after the `:`.
    #[must_use]
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, hex)| hex)
    }

    /// The whole digest, `algorithm:hex`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Digest {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// A parsed, normalised image reference: `registry/repository[:tag][@digest]`.
///
/// Equality, ordering and hashing use the normalised parts only, so `nginx` equals
/// `docker.io/library/nginx`; [`ImageRef::original`] keeps the text as written.
#[derive(Debug, Clone)]
pub struct ImageRef {
    /// The reference exactly as written.
    original: String,
    /// `registry/repository`.
    name: String,
    /// Length of the registry prefix of `name` (the `/` follows it).
    registry_len: usize,
    /// The tag, if one was written.
    tag: Option<String>,
    /// The digest, if one was written.
    digest: Option<Digest>,
}

impl ImageRef {
    /// Parses and normalises a reference; same as [`str::parse`].
    pub fn parse(reference: &str) -> Result<Self, ImageError> {
        parse_reference(reference)
    }

    /// The registry as `host[:port]`, normalised (`docker.io`, `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`).
    ///
    /// The host keeps the case it was written in, as Docker does.
    #[must_use]
    pub fn registry(&self) -> &str {
        self.name.get(..self.registry_len).unwrap_or_default()
    }

    /// The repository path within the registry, e.g. `library/nginx` or `acme/api`.
    #[must_use]
    pub fn repository(&self) -> &str {
        self.name.get(self.registry_len + 1..).unwrap_or_default()
    }

    /// The tag, if one was written (none is invented).
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if one was written.
    #[must_use]
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `registry/repository`, without tag or digest.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The reference exactly as it was written (for derived references: their normalised form).
    #[must_use]
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Whether the reference asks for `latest`: its tag is `latest`, or it has neither tag nor digest
    /// (a missing tag counts as `latest`).
    ///
    /// Only the tag is judged: `nginx@sha256:…` is not latest, while `nginx:latest@sha256:…` is, even
    /// though the digest pins what actually runs. Combine with [`ImageRef::is_pinned`] where that
    /// matters.
    #[must_use]
    pub fn is_latest(&self) -> bool {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => tag == "latest",
            (None, digest) => digest.is_none(),
        }
    }

    /// Whether the reference carries a digest.
    #[must_use]
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// The same reference pinned to `digest`; a tag is kept (`name:tag@digest`), an existing digest replaced.
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self::derived(self.name.clone(), self.registry_len, self.tag.clone(), Some(digest))
    }

    /// The same reference without its tag; a digest is kept.
    #[must_use]
    pub fn without_tag(&self) -> Self {
        Self::derived(self.name.clone(), self.registry_len, None, self.digest.clone())
    }

    /// Builds a reference from already validated parts; its `original` is its normalised form.
    fn derived(name: String, registry_len: usize, tag: Option<String>, digest: Option<Digest>) -> Self {
        let mut image = Self { original: String::new(), name, registry_len, tag, digest };
        image.original = image.to_string();
        image
    }

    /// The parts that make up the identity of a reference.
    fn key(&self) -> (&str, Option<&str>, Option<&Digest>) {
        (&self.name, self.tag.as_deref(), self.digest.as_ref())
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ImageRef {}

impl Hash for ImageRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for ImageRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ImageRef {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl FromStr for ImageRef {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_reference(s)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ImageRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// An image reference together with the digest it was resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pinned {
    /// The reference that was resolved (as written in the manifest, normalised).
    pub reference: ImageRef,
    /// The digest the reference resolved to.
    pub digest: Digest,
}

impl Pinned {
    /// Pairs a reference with the digest it resolved to.
    #[must_use]
    pub fn new(reference: ImageRef, digest: Digest) -> Self {
        Self { reference, digest }
    }

    /// The pinned reference as an [`ImageRef`]: `name:tag@digest` or `name@digest`.
    #[must_use]
    pub fn image_ref(&self) -> ImageRef {
        self.reference.with_digest(self.digest.clone())
    }
}

impl fmt::Display for Pinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reference.name())?;
        if let Some(tag) = self.reference.tag() {
            write!(f, ":{tag}")?;
        }
        write!(f, "@{}", self.digest)
    }
}

/// Parses `reference` following Docker's `ParseNormalizedNamed`.
fn parse_reference(reference: &str) -> Result<ImageRef, ImageError> {
    if reference.is_empty() {
        return Err(ImageError::Empty);
    }
    if reference.len() == 64 && reference.bytes().all(is_lower_hex) {
        return Err(ImageError::HexIdentifier { reference: reference.to_owned() });
    }

    // Neither name nor tag may contain '@', and neither may a digest: the first '@' splits.
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((name_and_tag, digest)) => (name_and_tag, Some(digest)),
        None => (reference, None),
    };
    // Registry, then path[:tag]. Neither path nor tag may contain ':', so the first ':' splits.
    let (registry, remainder) = split_registry(name_and_tag);
    let (path, tag) = match remainder.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (remainder, None),
    };

    check_path(reference, path)?;
    let registry = resolve_registry(reference, registry)?;
    let official = registry == DOCKER_HUB && !path.contains('/');
    let namespace = if official { OFFICIAL_NAMESPACE } else { "" };
    let path_len = namespace.len() + path.len();
    if path_len > MAX_REPOSITORY_LEN {
        return Err(ImageError::NameTooLong { reference: reference.to_owned(), len: path_len });
    }
    if let Some(tag) = tag {
        check_tag(reference, tag)?;
    }
    let digest = match digest {
        Some(digest) => match check_digest(digest) {
            Ok(()) => Some(Digest(digest.to_owned())),
            Err(reason) => {
                return Err(ImageError::InvalidDigest { reference: reference.to_owned(), reason });
            }
        },
        None => None,
    };

    Ok(ImageRef {
        original: reference.to_owned(),
        name: [registry, "/", namespace, path].concat(),
        registry_len: registry.len(),
        tag: tag.map(str::to_owned),
        digest,
    })
}

/// An [`ImageError::Syntax`] for `reference`.
fn syntax_error(reference: &str, reason: String) -> ImageError {
    ImageError::Syntax { reference: reference.to_owned(), reason }
}

/// Checks the repository path as written (before `library/` is added).
fn check_path(reference: &str, path: &str) -> Result<(), ImageError> {
    if path.is_empty() {
        return Err(syntax_error(reference, "repository name is missing".to_owned()));
    }
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ImageError::Uppercase { reference: reference.to_owned() });
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(syntax_error(
                reference,
                "repository name has an empty path component (\"//\" or a leading or trailing \"/\")".to_owned(),
            ));
        }
        if !is_path_component(component) {
            return Err(syntax_error(
                reference,
                format!(
                    "path component {component:?} must be lowercase letters and digits, separated by \".\", \"_\", \"__\" or dashes"
                ),
            ));
        }
    }
    Ok(())
}

/// Validates and normalises the registry.
fn resolve_registry<'a>(reference: &str, registry: Registry<'a>) -> Result<&'a str, ImageError> {
    match registry {
        Registry::DockerHub => Ok(DOCKER_HUB),
        Registry::Explicit(host) if host == LEGACY_DOCKER_HUB => Ok(DOCKER_HUB),
        Registry::Explicit(host) if is_domain(host) => Ok(host),
        Registry::Explicit(host)
            if host.bytes().any(|b| b.is_ascii_uppercase()) && is_path_component(&host.to_ascii_lowercase()) =>
        {
            // Lowercased, the first segment would be an ordinary path component.
            Err(ImageError::Uppercase { reference: reference.to_owned() })
        }
        Registry::Explicit(host) => Err(syntax_error(
            reference,
            format!(
                "registry {host:?} must be a host name, an IPv4 address or a bracketed IPv6 address, optionally followed by \":<port>\""
            ),
        )),
    }
}

/// Checks a tag against `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(reference: &str, tag: &str) -> Result<(), ImageError> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut bytes = tag.bytes();
    let well_formed = match bytes.next() {
        None => return Err(syntax_error(reference, "tag is empty after ':'".to_owned())),
        Some(first) => is_word(first) && bytes.all(|b| is_word(b) || b == b'.' || b == b'-'),
    };
    if !well_formed {
        return Err(syntax_error(
            reference,
            format!(
                "tag {tag:?} must start with a letter, digit or \"_\" and contain only letters, digits, \"_\", \".\" and \"-\""
            ),
        ));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(ImageError::TagTooLong { reference: reference.to_owned(), tag: tag.to_owned() });
    }
    Ok(())
}

/// Where the registry of a reference comes from.
#[derive(Clone, Copy)]
enum Registry<'a> {
    /// No registry was written: Docker Hub.
    DockerHub,
    /// The first segment, not yet validated.
    Explicit(&'a str),
}

/// Splits `name[:tag]` into registry and `path[:tag]`, the way Docker's `splitDockerDomain` does.
fn split_registry(name_and_tag: &str) -> (Registry<'_>, &str) {
    match name_and_tag.split_once('/') {
        Some((first, rest))
            if first == LOCALHOST || first.contains(['.', ':']) || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Registry::Explicit(first), rest)
        }
        _ => (Registry::DockerHub, name_and_tag),
    }
}

/// `host[:port]` with host a domain name (or IPv4 address) or a bracketed IPv6 address.
fn is_domain(domain: &str) -> bool {
    let (host_ok, port) = if let Some(bracketed) = domain.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return false;
        };
        let address_ok = !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port = match after {
            "" => None,
            after => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        (address_ok, port)
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (is_domain_name(host), Some(port)),
            None => (is_domain_name(domain), None),
        }
    };
    host_ok && port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// Domain-name components (`[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`) joined by `.`.
fn is_domain_name(host: &str) -> bool {
    host.split('.').all(|component| {
        let bytes = component.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            }
            _ => false,
        }
    })
}

/// `[a-z0-9]+((?:[._]|__|-+)[a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let mut bytes = component.bytes().peekable();
    loop {
        // One or more lowercase alphanumerics.
        let mut run = 0usize;
        while bytes.next_if(|b| is_lower_alnum(*b)).is_some() {
            run += 1;
        }
        if run == 0 {
            return false;
        }
        // Then the end, or a separator that must be followed by another run.
        match bytes.next() {
            None => return true,
            Some(b'.') => {}
            Some(b'_') => {
                bytes.next_if_eq(&b'_');
            }
            Some(b'-') => while bytes.next_if_eq(&b'-').is_some() {},
            Some(_) => return false,
        }
    }
}

/// Validates `algorithm:encoded` against the OCI image-spec grammar and the registered algorithms.
fn check_digest(digest: &str) -> Result<(), DigestError> {
    if digest.is_empty() {
        return Err(DigestError::Empty);
    }
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return Err(DigestError::MissingSeparator);
    };
    if !is_digest_algorithm(algorithm) {
        return Err(DigestError::InvalidAlgorithm { algorithm: algorithm.to_owned() });
    }
    let Some(&(algorithm, expected)) = REGISTERED_ALGORITHMS.iter().find(|(registered, _)| *registered == algorithm)
    else {
        let encoded_ok = !encoded.is_empty()
            && encoded.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
        return Err(if encoded_ok {
            DigestError::UnsupportedAlgorithm { algorithm: algorithm.to_owned() }
        } else {
            DigestError::InvalidEncoded
        });
    };
    let got = encoded.chars().count();
    if got != expected {
        return Err(DigestError::WrongLength { algorithm, expected, got });
    }
    match encoded.chars().enumerate().find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f')) {
        Some((position, found)) => Err(DigestError::NotLowercaseHex { algorithm, expected, found, position }),
        None => Ok(()),
    }
}

/// `[a-z0-9]+([+._-][a-z0-9]+)*`.
fn is_digest_algorithm(algorithm: &str) -> bool {
    // Start as if just after a separator: the first byte must be alphanumeric.
    let mut after_separator = true;
    for b in algorithm.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => after_separator = false,
            b'+' | b'.' | b'_' | b'-' if !after_separator => after_separator = true,
            _ => return false,
        }
    }
    !after_separator
}

/// `[a-z0-9]`.
fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-f0-9]`.
fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const SHA: &str = "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";
    const HEX: &str = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    fn parse(s: &str) -> ImageRef {
        match s.parse() {
            Ok(image) => image,
            Err(error) => panic!("{s:?} should parse: {error}"),
        }
    }

    fn parse_err(s: &str) -> ImageError {
        match s.parse::<ImageRef>() {
            Ok(image) => panic!("{s:?} should not parse, got {image}"),
            Err(error) => error,
        }
    }

    #[rstest]
    #[case::docker_hub_short_name_gets_library("nginx", "docker.io", "library/nginx", None, false)]
    #[case::docker_hub_short_name_with_tag("nginx:1.25", "docker.io", "library/nginx", Some("1.25"), false)]
    #[case::docker_hub_explicit_library("library/nginx:1.25", "docker.io", "library/nginx", Some("1.25"), false)]
    #[case::docker_hub_user_namespace("bitnami/redis:7.2", "docker.io", "bitnami/redis", Some("7.2"), false)]
    #[case::docker_hub_explicit_domain_gets_library("docker.io/nginx", "docker.io", "library/nginx", None, false)]
    #[case::docker_hub_explicit_full(
        "docker.io/library/nginx:latest",
        "docker.io",
        "library/nginx",
        Some("latest"),
        false
    )]
    #[case::legacy_index_domain_normalised("index.docker.io/nginx:1", "docker.io", "library/nginx", Some("1"), false)]
    #[case::legacy_index_domain_with_namespace("index.docker.io/acme/api", "docker.io", "acme/api", None, false)]
    #[case::docker_hub_nested_path("acme/team/api:v2", "docker.io", "acme/team/api", Some("v2"), false)]
    #[case::ghcr_nested_path("ghcr.io/acme/platform/api:v1.2.3", "ghcr.io", "acme/platform/api", Some("v1.2.3"), false)]
    #[case::registry_single_component_no_library("ghcr.io/api", "ghcr.io", "api", None, false)]
    #[case::registry_with_port(
        "registry.example.com:5000/acme/api:1",
        "registry.example.com:5000",
        "acme/api",
        Some("1"),
        false
    )]
    #[case::ipv4_with_port("127.0.0.1:5000/api:dev", "127.0.0.1:5000", "api", Some("dev"), false)]
    #[case::bare_host_with_port("myregistry:5000/api", "myregistry:5000", "api", None, false)]
    #[case::localhost("localhost/api", "localhost", "api", None, false)]
    #[case::localhost_with_port("localhost:5000/acme/api:1", "localhost:5000", "acme/api", Some("1"), false)]
    #[case::ipv6_with_port("[::1]:5000/api:1", "[::1]:5000", "api", Some("1"), false)]
    #[case::ipv6_without_port("[2001:db8::1]/acme/api", "[2001:db8::1]", "acme/api", None, false)]
    #[case::uppercase_first_segment_is_registry("Registry/api", "Registry", "api", None, false)]
    #[case::single_localhost_is_repository("localhost", "docker.io", "library/localhost", None, false)]
    #[case::single_dotted_name_is_repository(
        "example.com:5000",
        "docker.io",
        "library/example.com",
        Some("5000"),
        false
    )]
    #[case::path_separators("a/b.c/d_e/f__g/h---i", "docker.io", "a/b.c/d_e/f__g/h---i", None, false)]
    #[case::tag_with_uppercase_and_underscore(
        "nginx:Stable_1.0-rc.1",
        "docker.io",
        "library/nginx",
        Some("Stable_1.0-rc.1"),
        false
    )]
    #[case::tag_underscore_first("nginx:_x", "docker.io", "library/nginx", Some("_x"), false)]
    #[case::digest_only(&format!("nginx@{SHA}"), "docker.io", "library/nginx", None, true)]
    #[case::tag_and_digest(&format!("ghcr.io/acme/api:1.0@{SHA}"), "ghcr.io", "acme/api", Some("1.0"), true)]
    #[case::port_and_digest(&format!("localhost:5000/api@{SHA}"), "localhost:5000", "api", None, true)]
    #[case::port_lookalike_tag_makes_a_registry("nginx:1/2", "nginx:1", "2", None, false)]
    #[case::hex_tag_is_not_identifier(&format!("sha256:{HEX}"), "docker.io", "library/sha256", Some(HEX), false)]
    fn parses(
        #[case] input: &str,
        #[case] registry: &str,
        #[case] repository: &str,
        #[case] tag: Option<&str>,
        #[case] pinned: bool,
    ) {
        let image = parse(input);
        assert_eq!(image.registry(), registry);
        assert_eq!(image.repository(), repository);
        assert_eq!(image.tag(), tag);
        assert_eq!(image.is_pinned(), pinned);
        assert_eq!(image.digest().map(Digest::as_str), pinned.then_some(SHA));
        assert_eq!(image.name(), format!("{registry}/{repository}"));
        assert_eq!(image.original(), input);

        // Display is the fully normalised form, and parsing it gives back the same value.
        let mut expected = format!("{registry}/{repository}");
        if let Some(tag) = tag {
            expected = format!("{expected}:{tag}");
        }
        if pinned {
            expected = format!("{expected}@{SHA}");
        }
        assert_eq!(image.to_string(), expected);
        assert_eq!(parse(&image.to_string()), image);
    }

    #[rstest]
    #[case::empty("", r#"invalid image reference "": empty"#)]
    #[case::uppercase_short_name("Nginx:1", r#"invalid image reference "Nginx:1": repository name must be lowercase"#)]
    #[case::uppercase_in_path(
        "ghcr.io/Acme/api",
        r#"invalid image reference "ghcr.io/Acme/api": repository name must be lowercase"#
    )]
    #[case::uppercase_first_segment_not_a_host(
        "Acme_corp/api",
        r#"invalid image reference "Acme_corp/api": repository name must be lowercase"#
    )]
    #[case::hex_identifier(
        HEX,
        "invalid image reference \"7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa\": cannot specify 64-byte hexadecimal strings, name the repository and use \"name@sha256:<hex>\""
    )]
    #[case::digest_too_short(
        "nginx@sha256:0123456789ab",
        r#"invalid image reference "nginx@sha256:0123456789ab": invalid digest: sha256 digest must be 64 lowercase hex characters, got 12"#
    )]
    #[case::digest_empty(
        "nginx@",
        r#"invalid image reference "nginx@": invalid digest: digest is empty, expected "sha256:<64 lowercase hex characters>""#
    )]
    #[case::tag_empty("nginx:", r#"invalid image reference "nginx:": tag is empty after ':'"#)]
    #[case::tag_leading_dot(
        "nginx:.1",
        r#"invalid image reference "nginx:.1": tag ".1" must start with a letter, digit or "_" and contain only letters, digits, "_", "." and "-""#
    )]
    #[case::missing_repository(":latest", r#"invalid image reference ":latest": repository name is missing"#)]
    #[case::empty_path_component(
        "acme//api",
        r#"invalid image reference "acme//api": repository name has an empty path component ("//" or a leading or trailing "/")"#
    )]
    #[case::bad_port(
        "ghcr.io:abc/api",
        r#"invalid image reference "ghcr.io:abc/api": registry "ghcr.io:abc" must be a host name, an IPv4 address or a bracketed IPv6 address, optionally followed by ":<port>""#
    )]
    #[case::control_characters_are_escaped(
        "ngi\nnx",
        r#"invalid image reference "ngi\nnx": path component "ngi\nnx" must be lowercase letters and digits, separated by ".", "_", "__" or dashes"#
    )]
    fn error_messages(#[case] input: &str, #[case] message: &str) {
        assert_eq!(parse_err(input).to_string(), message);
    }

    #[rstest]
    #[case::trailing_slash("acme/api/")]
    #[case::leading_slash("/api")]
    #[case::only_slash("/")]
    #[case::leading_separator("acme/-api")]
    #[case::trailing_separator("acme/api-")]
    #[case::triple_underscore("acme/a___b")]
    #[case::double_dot("acme/a..b")]
    #[case::dot_dash("acme/a.-b")]
    #[case::space("acme/my api")]
    #[case::non_ascii("acme/äpi")]
    #[case::two_tags("nginx:1:2")]
    #[case::brackets_without_colon_are_not_a_host("[a]/b")]
    #[case::tag_non_ascii("nginx:vé")]
    #[case::host_trailing_dot("ghcr.io./api")]
    #[case::host_leading_dash("-ghcr.io/api")]
    #[case::host_empty_label("ghcr..io/api")]
    #[case::host_underscore_with_dot("my_reg.io/api")]
    #[case::port_empty("ghcr.io:/api")]
    #[case::ipv6_unclosed("[::1/api")]
    #[case::ipv6_empty("[]:5000/api")]
    #[case::ipv6_zone("[fe80::1%eth0]/api")]
    #[case::ipv6_junk_after_bracket("[::1]x/api")]
    #[case::ipv6_as_short_name("[::1]")]
    #[case::registry_without_repository("ghcr.io/")]
    fn syntax_errors(#[case] input: &str) {
        let error = parse_err(input);
        assert!(
            matches!(error, ImageError::Syntax { ref reference, .. } if reference == input),
            "{input:?}: {error:?}"
        );
    }

    #[test]
    fn tag_of_exactly_128_characters_is_accepted() {
        let tag = "t".repeat(MAX_TAG_LEN);
        assert_eq!(parse(&format!("nginx:{tag}")).tag(), Some(tag.as_str()));
    }

    #[test]
    fn tag_of_129_characters_is_too_long() {
        let tag = "t".repeat(MAX_TAG_LEN + 1);
        let input = format!("nginx:{tag}");
        let error = parse_err(&input);
        assert_eq!(error, ImageError::TagTooLong { reference: input.clone(), tag: tag.clone() });
        assert!(error.to_string().ends_with(&format!("tag \"{tag}\" is longer than 128 characters")));
    }

    #[rstest]
    // "library/" (8) + 247 = 255
    #[case::docker_hub_official_at_limit("", 247, true)]
    #[case::docker_hub_official_over_limit("", 248, false)]
    #[case::other_registry_at_limit("ghcr.io/", 255, true)]
    #[case::other_registry_over_limit("ghcr.io/", 256, false)]
    fn repository_length_limit(#[case] prefix: &str, #[case] len: usize, #[case] ok: bool) {
        let input = format!("{prefix}{}", "a".repeat(len));
        let result = input.parse::<ImageRef>();
        if ok {
            assert!(result.is_ok(), "{result:?}");
        } else {
            let error = parse_err(&input);
            assert!(
                matches!(error, ImageError::NameTooLong { len: got, .. } if got == MAX_REPOSITORY_LEN + 1),
                "{error:?}"
            );
            assert!(error.to_string().ends_with("repository name is longer than 255 characters (got 256)"));
        }
    }

    #[rstest]
    #[case::sha256(SHA, "sha256", HEX)]
    #[case::sha384(&format!("sha384:{}", "ab".repeat(48)), "sha384", &"ab".repeat(48))]
    #[case::sha512(&format!("sha512:{}", "0f".repeat(64)), "sha512", &"0f".repeat(64))]
    fn digest_parses(#[case] input: &str, #[case] algorithm: &str, #[case] hex: &str) {
        let digest: Digest = input.parse().unwrap();
        assert_eq!(digest.algorithm(), algorithm);
        assert_eq!(digest.hex(), hex);
        assert_eq!(digest.to_string(), input);
        assert_eq!(digest.to_string().parse::<Digest>().unwrap(), digest);
    }

    #[rstest]
    #[case::sha256_63_chars(
        &HEX[1..],
        "sha256 digest must be 64 lowercase hex characters, got 63"
    )]
    #[case::sha256_65_chars(
        &format!("{HEX}0"),
        "sha256 digest must be 64 lowercase hex characters, got 65"
    )]
    #[case::sha256_uppercase(
        &HEX.to_uppercase(),
        "sha256 digest must be 64 lowercase hex characters, found 'C' at position 1"
    )]
    #[case::sha512_wrong_length("sha512:abcd", "sha512 digest must be 128 lowercase hex characters, got 4")]
    fn digest_hex_errors(#[case] hex_or_digest: &str, #[case] reason: &str) {
        let input =
            if hex_or_digest.contains(':') { hex_or_digest.to_owned() } else { format!("sha256:{hex_or_digest}") };
        let error = input.parse::<Digest>().unwrap_err();
        assert_eq!(error.to_string(), format!("invalid digest {input:?}: {reason}"));
    }

    #[test]
    fn digest_uppercase_reports_first_uppercase_letter() {
        let input = format!("sha256:{}C{}", &HEX[..10], &HEX[11..]);
        let error = input.parse::<Digest>().unwrap_err();
        assert!(
            error.to_string().ends_with("sha256 digest must be 64 lowercase hex characters, found 'C' at position 10"),
            "{error}"
        );
    }

    #[rstest]
    #[case::md5_unsupported("md5:d41d8cd98f00b204e9800998ecf8427e", DigestError::UnsupportedAlgorithm { algorithm: "md5".to_owned() })]
    #[case::multihash_algorithm_unsupported("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", DigestError::UnsupportedAlgorithm { algorithm: "sha256+b64u".to_owned() })]
    #[case::uppercase_algorithm(&format!("SHA256:{HEX}"), DigestError::InvalidAlgorithm { algorithm: "SHA256".to_owned() })]
    #[case::empty_algorithm(&format!(":{HEX}"), DigestError::InvalidAlgorithm { algorithm: String::new() })]
    #[case::algorithm_double_separator("sha256..x:abcd", DigestError::InvalidAlgorithm { algorithm: "sha256..x".to_owned() })]
    #[case::algorithm_trailing_separator("sha256-:abcd", DigestError::InvalidAlgorithm { algorithm: "sha256-".to_owned() })]
    #[case::unknown_algorithm_bad_encoding("blake3:a+b", DigestError::InvalidEncoded)]
    #[case::unknown_algorithm_empty_encoding("blake3:", DigestError::InvalidEncoded)]
    #[case::no_separator(HEX, DigestError::MissingSeparator)]
    #[case::empty("", DigestError::Empty)]
    #[case::sha256_empty_hex("sha256:", DigestError::WrongLength { algorithm: "sha256", expected: 64, got: 0 })]
    #[case::sha256_non_hex(&format!("sha256:{}g", &HEX[1..]), DigestError::NotLowercaseHex { algorithm: "sha256", expected: 64, found: 'g', position: 63 })]
    #[case::sha256_non_ascii_counts_characters(&format!("sha256:{}é", &HEX[1..]), DigestError::NotLowercaseHex { algorithm: "sha256", expected: 64, found: 'é', position: 63 })]
    fn digest_errors(#[case] input: &str, #[case] reason: DigestError) {
        assert_eq!(
            input.parse::<Digest>(),
            Err(ImageError::Digest { value: input.to_owned(), reason: reason.clone() })
        );
        // The same digest inside a reference is reported against the reference.
        let reference = format!("ghcr.io/acme/api@{input}");
        assert_eq!(parse_err(&reference), ImageError::InvalidDigest { reference: reference.clone(), reason });
    }

    #[test]
    fn second_at_sign_makes_the_digest_invalid() {
        let input = format!("nginx@{SHA}@{SHA}");
        assert!(matches!(
            parse_err(&input),
            ImageError::InvalidDigest { reason: DigestError::WrongLength { got: 136, .. }, .. }
        ));
    }

    #[test]
    fn unsupported_algorithm_message() {
        let error = "md5:d41d8cd98f00b204e9800998ecf8427e".parse::<Digest>().unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid digest "md5:d41d8cd98f00b204e9800998ecf8427e": unsupported digest algorithm "md5", expected sha256, sha384 or sha512"#
        );
    }

    #[rstest]
    #[case::no_tag_no_digest("nginx", true)]
    #[case::latest_tag("nginx:latest", true)]
    #[case::other_tag("nginx:1.25", false)]
    #[case::latest_is_case_sensitive("nginx:Latest", false)]
    #[case::latest_prefix_is_not_latest("nginx:latest-alpine", false)]
    #[case::digest_only(&format!("nginx@{SHA}"), false)]
    #[case::latest_tag_with_digest(&format!("nginx:latest@{SHA}"), true)]
    #[case::other_tag_with_digest(&format!("nginx:1.25@{SHA}"), false)]
    #[case::registry_port_is_not_a_tag("localhost:5000/api", true)]
    fn is_latest_truth_table(#[case] input: &str, #[case] latest: bool) {
        assert_eq!(parse(input).is_latest(), latest);
    }

    #[rstest]
    #[case::tagged_keeps_tag("nginx:1.25", "docker.io/library/nginx:1.25@")]
    #[case::untagged("ghcr.io/acme/api", "ghcr.io/acme/api@")]
    #[case::replaces_existing_digest(
        "nginx:1@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "docker.io/library/nginx:1@"
    )]
    fn with_digest(#[case] input: &str, #[case] expected_prefix: &str) {
        let digest: Digest = SHA.parse().unwrap();
        let pinned = parse(input).with_digest(digest.clone());
        assert_eq!(pinned.to_string(), format!("{expected_prefix}{SHA}"));
        assert_eq!(pinned.digest(), Some(&digest));
        assert_eq!(pinned.original(), pinned.to_string());
        assert_eq!(parse(&pinned.to_string()), pinned);
    }

    #[test]
    fn without_tag_keeps_digest() {
        let image = parse(&format!("nginx:1.25@{SHA}"));
        let bare = image.without_tag();
        assert_eq!(bare.to_string(), format!("docker.io/library/nginx@{SHA}"));
        assert_eq!(bare.tag(), None);
        assert!(!bare.is_latest());
        assert_eq!(parse("nginx:1.25").without_tag().to_string(), "docker.io/library/nginx");
    }

    #[rstest]
    #[case::tagged("nginx:1.25", "docker.io/library/nginx:1.25@")]
    #[case::untagged("ghcr.io/acme/api", "ghcr.io/acme/api@")]
    fn pinned_display(#[case] input: &str, #[case] expected_prefix: &str) {
        let pinned = Pinned::new(parse(input), SHA.parse().unwrap());
        let expected = format!("{expected_prefix}{SHA}");
        assert_eq!(pinned.to_string(), expected);
        assert_eq!(pinned.image_ref().to_string(), expected);
    }

    #[test]
    fn equality_ignores_spelling() {
        let short = parse("nginx");
        let long = parse("index.docker.io/library/nginx");
        assert_eq!(short, long);
        assert_ne!(short.original(), long.original());
        let mut set = std::collections::HashSet::new();
        set.insert(short);
        assert!(set.contains(&long));
        assert_ne!(parse("nginx"), parse("nginx:latest"));
    }

    #[test]
    fn serde_round_trip_uses_normalised_strings() {
        let image = parse(&format!("nginx:1@{SHA}"));
        let json = serde_json::to_string(&image).unwrap();
        assert_eq!(json, format!("\"docker.io/library/nginx:1@{SHA}\""));
        assert_eq!(serde_json::from_str::<ImageRef>(&json).unwrap(), image);
        assert!(serde_json::from_str::<ImageRef>("\"Nginx\"").is_err());
        let digest: Digest = serde_json::from_str(&format!("\"{SHA}\"")).unwrap();
        assert_eq!(digest.as_str(), SHA);
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }

    /// Inputs that once broke the round trip or the scanner.
    #[rstest]
    #[case::port_only_registry_segment("a:1/b")]
    #[case::ipv6_bracketed_hex_with_port("[a]:1/b")]
    #[case::uppercase_registry_round_trips("A/b:C")]
    #[case::docker_hub_with_port_keeps_single_component("docker.io:443/nginx")]
    #[case::dash_run("a--------b")]
    fn round_trip(#[case] input: &str) {
        let image = parse(input);
        assert_eq!(parse(&image.to_string()), image);
        assert_eq!(image.to_string(), parse(&image.to_string()).to_string());
    }
}
