//! The two glob dialects Argo CD uses for projects: gobwas/glob behind Argo's `globMatch` (source
//! repositories and destinations) and Go's `filepath.Match` (resource kind lists).
//!
//! Owns pattern syntax and matching only, written to match the Go libraries rather than any Rust glob
//! crate: a pattern that fails to compile matches nothing, and no input panics or recurses without
//! bound. It knows nothing about projects.

use std::collections::VecDeque;

/// Deepest `{…}` nesting compiled; deeper patterns match nothing (gobwas has no limit, but no real
/// project nests alternatives this deep, and the bound keeps hostile patterns cheap).
const MAX_TERMS_DEPTH: usize = 64;

/// Argo CD's `globMatch`: `!` negates when `allow_negation` is set, exactly `*` matches everything
/// (even the empty string and across separators), anything else is a gobwas/glob pattern over
/// `separators`.
///
/// gobwas syntax: `*` any run of non-separator characters, `**` any run of characters, `?` one
/// non-separator character, `[abc]`, `[!abc]`, `[a-z]`, `[!a-z]` one character (a class holds either
/// one range or a list, never both, as in gobwas), `{a,b}` alternatives (nestable; an unclosed `{`
/// closes at the end, as in gobwas), `\` escapes the next character. A pattern that fails to compile
/// (`[`, `[]`, `[a-z0-9]`, `[z-a]`) matches nothing, so `!` in front of it matches everything.
///
/// Known difference from gobwas v0.2.3: its optimised matcher lets a lone `?` match the empty string;
/// here `?` always needs one character.
#[must_use]
pub fn glob_match(pattern: &str, value: &str, allow_negation: bool, separators: &[char]) -> bool {
    if allow_negation && let Some(rest) = pattern.strip_prefix('!') {
        return !gobwas_match(rest, value, separators);
    }
    if pattern == "*" {
        return true;
    }
    gobwas_match(pattern, value, separators)
}

/// gobwas/glob `Compile(pattern, separators...).Match(value)`, false when the pattern does not compile.
#[must_use]
pub fn gobwas_match(pattern: &str, value: &str, separators: &[char]) -> bool {
    match parse(pattern) {
        Some(seq) => Nfa::compile(&seq).matches(value, separators),
        None => false,
    }
}

/// Whether a gobwas/glob pattern compiles (one that does not matches nothing).
#[must_use]
pub fn gobwas_compiles(pattern: &str) -> bool {
    parse(pattern).is_some()
}

/// Go's `filepath.Match(pattern, name)` on a `/`-separated system, reported as Argo uses it:
/// `ok && err == nil`. `*` is any run of non-`/` characters, `?` one non-`/` character, `[…]` a class
/// of characters and `lo-hi` ranges, negated by a leading `^` (Go does not treat `!` as negation:
/// `[!a]` is the class of `!` and `a`), `\` escapes. A malformed pattern (`[`, `[]`, `[a-]`, a trailing
/// `\`) matches nothing.
#[must_use]
pub fn filepath_match(pattern: &str, name: &str) -> bool {
    go_filepath_match(pattern, name).unwrap_or(false)
}

/// Whether a Go `filepath.Match` pattern is well formed (a malformed one matches nothing).
#[must_use]
pub fn filepath_compiles(pattern: &str) -> bool {
    go_filepath_match(pattern, "").is_ok()
}

// ---- gobwas/glob: lexer (a port of syntax/lexer) ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Eof,
    Text(Vec<char>),
    Any,
    Super,
    Single,
    RangeOpen,
    Not,
    RangeLo(char),
    RangeBetween,
    RangeHi(char),
    RangeClose,
    TermsOpen,
    Separator,
    TermsClose,
}

/// The lexer's failure; its text does not matter, only that the pattern does not compile.
struct LexError;

struct Lexer {
    data: Vec<char>,
    pos: usize,
    failed: bool,
    tokens: VecDeque<Token>,
    terms_level: usize,
    last: Option<char>,
    last_size: usize,
    has_rune: bool,
}

const TEXT_BREAKERS: &[char] = &['?', '*', '[', '{'];
const TERMS_BREAKERS: &[char] = &['?', '*', '[', '{', '}', ','];

impl Lexer {
    fn new(pattern: &str) -> Self {
        Lexer {
            data: pattern.chars().collect(),
            pos: 0,
            failed: false,
            tokens: VecDeque::new(),
            terms_level: 0,
            last: None,
            last_size: 0,
            has_rune: false,
        }
    }

    fn next(&mut self) -> Result<Token, LexError> {
        loop {
            if self.failed {
                return Err(LexError);
            }
            if let Some(token) = self.tokens.pop_front() {
                return Ok(token);
            }
            self.fetch_item();
        }
    }

    /// The next character without consuming it; `None` at the end. Go's lexer uses rune 0 as its
    /// end marker, so a NUL character ends the pattern there too.
    fn peek(&self) -> (Option<char>, usize) {
        match self.data.get(self.pos) {
            None | Some('\0') => (None, 0),
            Some(&c) => (Some(c), 1),
        }
    }

    fn read(&mut self) -> Option<char> {
        if self.has_rune {
            self.has_rune = false;
            self.pos += self.last_size;
            return self.last;
        }
        let (r, size) = self.peek();
        self.pos += size;
        self.last = r;
        self.last_size = size;
        r
    }

    fn unread(&mut self) {
        if self.has_rune {
            self.failed = true;
            return;
        }
        self.pos -= self.last_size;
        self.has_rune = true;
    }

    fn fetch_item(&mut self) {
        let r = self.read();
        match r {
            None => self.tokens.push_back(Token::Eof),
            Some('{') => {
                self.terms_level += 1;
                self.tokens.push_back(Token::TermsOpen);
            }
            Some(',') if self.terms_level > 0 => self.tokens.push_back(Token::Separator),
            Some('}') if self.terms_level > 0 => {
                self.tokens.push_back(Token::TermsClose);
                self.terms_level -= 1;
            }
            Some('[') => {
                self.tokens.push_back(Token::RangeOpen);
                self.fetch_range();
            }
            Some('?') => self.tokens.push_back(Token::Single),
            Some('*') => {
                if self.read() == Some('*') {
                    self.tokens.push_back(Token::Super);
                } else {
                    self.unread();
                    self.tokens.push_back(Token::Any);
                }
            }
            Some(_) => {
                self.unread();
                let breakers = if self.terms_level > 0 { TERMS_BREAKERS } else { TEXT_BREAKERS };
                self.fetch_text(breakers);
            }
        }
    }

    fn fetch_range(&mut self) {
        let mut want_hi = false;
        let mut want_close = false;
        let mut seen_not = false;
        loop {
            let Some(r) = self.read() else {
                self.failed = true;
                return;
            };
            if want_close {
                if r == ']' {
                    self.tokens.push_back(Token::RangeClose);
                } else {
                    self.failed = true;
                }
                return;
            }
            if want_hi {
                self.tokens.push_back(Token::RangeHi(r));
                want_close = true;
                continue;
            }
            if !seen_not && r == '!' {
                self.tokens.push_back(Token::Not);
                seen_not = true;
                continue;
            }
            if let (Some('-'), size) = self.peek() {
                self.pos += size;
                self.tokens.push_back(Token::RangeLo(r));
                self.tokens.push_back(Token::RangeBetween);
                want_hi = true;
                continue;
            }
            self.unread();
            self.fetch_text(&[']']);
            want_close = true;
        }
    }

    fn fetch_text(&mut self, breakers: &[char]) {
        let mut data = Vec::new();
        let mut escaped = false;
        while let Some(r) = self.read() {
            if !escaped {
                if r == '\\' {
                    escaped = true;
                    continue;
                }
                if breakers.contains(&r) {
                    self.unread();
                    break;
                }
            }
            escaped = false;
            data.push(r);
        }
        if !data.is_empty() {
            self.tokens.push_back(Token::Text(data));
        }
    }
}

// ---- gobwas/glob: parser (a port of syntax/ast/parser.go) ----

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(Vec<char>),
    /// `*`.
    Any,
    /// `**`.
    Super,
    /// `?`.
    Single,
    /// `[abc]` / `[!abc]`.
    List {
        chars: Vec<char>,
        not: bool,
    },
    /// `[a-z]` / `[!a-z]`.
    Range {
        lo: char,
        hi: char,
        not: bool,
    },
    /// `{a,b}`.
    AnyOf(Vec<Vec<Node>>),
}

/// An open `{`: the finished alternatives and the one being read.
struct Terms {
    alternatives: Vec<Vec<Node>>,
    current: Vec<Node>,
}

fn parse(pattern: &str) -> Option<Vec<Node>> {
    let mut lexer = Lexer::new(pattern);
    let mut root = Vec::new();
    let mut open: Vec<Terms> = Vec::new();
    loop {
        let token = lexer.next().ok()?;
        let node = match token {
            Token::Eof => break,
            Token::Text(text) => Node::Text(text),
            Token::Any => Node::Any,
            Token::Super => Node::Super,
            Token::Single => Node::Single,
            Token::RangeOpen => parse_range(&mut lexer)?,
            Token::TermsOpen => {
                if open.len() >= MAX_TERMS_DEPTH {
                    return None;
                }
                open.push(Terms { alternatives: Vec::new(), current: Vec::new() });
                continue;
            }
            Token::Separator => {
                let terms = open.last_mut()?;
                let done = std::mem::take(&mut terms.current);
                terms.alternatives.push(done);
                continue;
            }
            Token::TermsClose => {
                let mut terms = open.pop()?;
                terms.alternatives.push(terms.current);
                Node::AnyOf(terms.alternatives)
            }
            Token::Not | Token::RangeLo(_) | Token::RangeBetween | Token::RangeHi(_) | Token::RangeClose => {
                return None;
            }
        };
        match open.last_mut() {
            Some(terms) => terms.current.push(node),
            None => root.push(node),
        }
    }
    // gobwas inserts alternatives into the tree as it reads them, so an unclosed `{` is a closed one.
    while let Some(mut terms) = open.pop() {
        terms.alternatives.push(terms.current);
        let node = Node::AnyOf(terms.alternatives);
        match open.last_mut() {
            Some(outer) => outer.current.push(node),
            None => root.push(node),
        }
    }
    Some(root)
}

fn parse_range(lexer: &mut Lexer) -> Option<Node> {
    let mut not = false;
    let mut lo = None;
    let mut hi = None;
    let mut chars = Vec::new();
    loop {
        match lexer.next().ok()? {
            Token::Not => not = true,
            Token::RangeLo(c) => lo = Some(c),
            Token::RangeBetween => {}
            Token::RangeHi(c) => {
                if lo.is_some_and(|lo| c < lo) {
                    return None;
                }
                hi = Some(c);
            }
            Token::Text(text) => chars = text,
            Token::RangeClose => {
                let is_range = lo.is_some() && hi.is_some();
                let is_chars = !chars.is_empty();
                return match (lo, hi) {
                    (Some(lo), Some(hi)) if !is_chars => Some(Node::Range { lo, hi, not }),
                    _ if is_chars && !is_range => Some(Node::List { chars, not }),
                    _ => None,
                };
            }
            _ => return None,
        }
    }
}

// ---- matching: a Thompson NFA, linear in the value's length ----

#[derive(Debug)]
enum State {
    Char(char, usize),
    /// `?`: one non-separator character.
    Single(usize),
    List {
        chars: Vec<char>,
        not: bool,
        next: usize,
    },
    Range {
        lo: char,
        hi: char,
        not: bool,
        next: usize,
    },
    /// `*` (separator-aware) or `**`: loops on itself, or moves on without consuming.
    Star {
        stop_at_separators: bool,
        next: usize,
    },
    Split(Vec<usize>),
    Match,
}

struct Nfa {
    states: Vec<State>,
    start: usize,
}

impl Nfa {
    fn compile(seq: &[Node]) -> Self {
        let mut nfa = Nfa { states: vec![State::Match], start: 0 };
        nfa.start = nfa.sequence(seq, 0);
        nfa
    }

    fn push(&mut self, state: State) -> usize {
        self.states.push(state);
        self.states.len() - 1
    }

    /// Compiles `seq` so that it continues at `next`; returns its first state.
    fn sequence(&mut self, seq: &[Node], next: usize) -> usize {
        let mut current = next;
        for node in seq.iter().rev() {
            current = match node {
                Node::Text(text) => {
                    for &c in text.iter().rev() {
                        current = self.push(State::Char(c, current));
                    }
                    current
                }
                Node::Any => self.push(State::Star { stop_at_separators: true, next: current }),
                Node::Super => self.push(State::Star { stop_at_separators: false, next: current }),
                Node::Single => self.push(State::Single(current)),
                Node::List { chars, not } => self.push(State::List { chars: chars.clone(), not: *not, next: current }),
                Node::Range { lo, hi, not } => self.push(State::Range { lo: *lo, hi: *hi, not: *not, next: current }),
                Node::AnyOf(alternatives) => {
                    let starts = alternatives.iter().map(|alt| self.sequence(alt, current)).collect();
                    self.push(State::Split(starts))
                }
            };
        }
        current
    }

    /// Adds `state` and everything reachable from it without consuming a character.
    fn close(&self, state: usize, set: &mut Vec<usize>, seen: &mut [bool]) {
        let mut stack = vec![state];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            set.push(s);
            match &self.states[s] {
                State::Star { next, .. } => stack.push(*next),
                State::Split(targets) => stack.extend(targets.iter().copied()),
                _ => {}
            }
        }
    }

    fn matches(&self, value: &str, separators: &[char]) -> bool {
        let mut seen = vec![false; self.states.len()];
        let mut current = Vec::new();
        self.close(self.start, &mut current, &mut seen);
        for c in value.chars() {
            seen.fill(false);
            let mut next = Vec::new();
            for &s in &current {
                let target = match &self.states[s] {
                    State::Char(expected, n) => (*expected == c).then_some(*n),
                    State::Single(n) => (!separators.contains(&c)).then_some(*n),
                    State::List { chars, not, next } => (chars.contains(&c) != *not).then_some(*next),
                    State::Range { lo, hi, not, next } => ((*lo <= c && c <= *hi) != *not).then_some(*next),
                    State::Star { stop_at_separators, .. } => {
                        (!(*stop_at_separators && separators.contains(&c))).then_some(s)
                    }
                    State::Split(_) | State::Match => None,
                };
                if let Some(t) = target {
                    self.close(t, &mut next, &mut seen);
                }
            }
            if next.is_empty() {
                return false;
            }
            current = next;
        }
        current.iter().any(|&s| matches!(self.states[s], State::Match))
    }
}

// ---- Go path/filepath.Match (Unix) ----

/// `Err(())` is Go's `ErrBadPattern`.
fn go_filepath_match(mut pattern: &str, mut name: &str) -> Result<bool, ()> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing `*` matches the rest of the name unless it holds a `/`.
            return Ok(!name.contains('/'));
        }
        // Look for a match at the current position.
        let (t, ok) = match_chunk(chunk, name)?;
        // The last chunk must use up the name, else the star may still find a match further on.
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            // Look for a match skipping i+1 characters; `*` cannot skip `/`.
            for (i, c) in name.char_indices() {
                if c == '/' {
                    break;
                }
                let (t, ok) = match_chunk(chunk, &name[i + c.len_utf8()..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
            }
        }
        // Before failing, check the rest of the pattern is well formed (Go reports ErrBadPattern).
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, "")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the chunk up to the next unbracketed `*`.
fn scan_chunk(mut pattern: &str) -> (bool, &str, &str) {
    let mut star = false;
    while let Some(rest) = pattern.strip_prefix('*') {
        pattern = rest;
        star = true;
    }
    let bytes = pattern.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches `chunk` at the start of `s`; returns the rest of `s` and whether it matched. Keeps parsing
/// the chunk after a mismatch so malformed patterns are always reported.
fn match_chunk<'a>(mut chunk: &str, mut s: &'a str) -> Result<(&'a str, bool), ()> {
    let mut failed = false;
    while let Some(first) = chunk.chars().next() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match first {
            '[' => {
                let mut r = '\0';
                if !failed && let Some(c) = s.chars().next() {
                    r = c;
                    s = &s[c.len_utf8()..];
                }
                chunk = &chunk[1..];
                let negated = if let Some(rest) = chunk.strip_prefix('^') {
                    chunk = rest;
                    true
                } else {
                    false
                };
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if ranges > 0
                        && let Some(rest) = chunk.strip_prefix(']')
                    {
                        chunk = rest;
                        break;
                    }
                    let (lo, rest) = get_escaped(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if let Some(rest) = chunk.strip_prefix('-') {
                        let (h, rest) = get_escaped(rest)?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed && let Some(c) = s.chars().next() {
                    if c == '/' {
                        failed = true;
                    }
                    s = &s[c.len_utf8()..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if first == '\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(());
                    }
                }
                let Some(c) = chunk.chars().next() else { return Err(()) };
                if !failed {
                    match s.chars().next() {
                        Some(sc) if sc == c => s = &s[sc.len_utf8()..],
                        _ => failed = true,
                    }
                }
                chunk = &chunk[c.len_utf8()..];
            }
        }
    }
    if failed { Ok(("", false)) } else { Ok((s, true)) }
}

/// One possibly escaped character of a class; a class must not end right after it.
fn get_escaped(chunk: &str) -> Result<(char, &str), ()> {
    let mut chunk = chunk;
    match chunk.chars().next() {
        None | Some('-' | ']') => return Err(()),
        Some('\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(());
            }
        }
        Some(_) => {}
    }
    let c = chunk.chars().next().ok_or(())?;
    let rest = &chunk[c.len_utf8()..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((c, rest))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const NO_SEP: &[char] = &[];
    const SLASH: &[char] = &['/'];

    #[rstest]
    #[case::star_alone_matches_empty("*", "", true)]
    #[case::star_alone_crosses_separators("*", "a/b/c", true)]
    #[case::star_in_pattern_stops_at_separator("a/*", "a/b/c", false)]
    #[case::star_in_pattern_within_segment("a/*", "a/b", true)]
    #[case::star_matches_empty_run("a*", "a", true)]
    #[case::super_crosses_separators("a/**", "a/b/c", true)]
    #[case::super_matches_empty("a**", "a", true)]
    #[case::triple_star_is_super_then_any("a/***", "a/b/c", true)]
    #[case::single_one_char("a?c", "abc", true)]
    #[case::single_not_separator("a?c", "a/c", false)]
    #[case::single_needs_a_char("a?", "a", false)]
    #[case::list("[abc]x", "bx", true)]
    #[case::list_miss("[abc]x", "dx", false)]
    #[case::negated_list("[!abc]x", "dx", true)]
    #[case::negated_list_miss("[!abc]x", "ax", false)]
    #[case::negated_list_matches_separator("a[!x]b", "a/b", true)]
    #[case::range("[a-z]9", "q9", true)]
    #[case::range_miss("[a-z]9", "Q9", false)]
    #[case::negated_range("[!a-z]9", "Q9", true)]
    #[case::dash_inside_list_is_literal("[ab-]", "-", true)]
    #[case::alternatives("{dev,prod}-*", "prod-eu", true)]
    #[case::alternatives_miss("{dev,prod}-*", "test-eu", false)]
    #[case::alternatives_with_globs("{team-*,ops}", "team-a", true)]
    #[case::nested_alternatives("{a{1,2},b}", "a2", true)]
    #[case::empty_alternative("x{,y}", "x", true)]
    #[case::unclosed_alternatives_close_at_end("{a,b", "b", true)]
    #[case::comma_outside_alternatives_is_literal("a,b", "a,b", true)]
    #[case::closing_brace_outside_is_literal("a}", "a}", true)]
    #[case::closing_bracket_outside_is_literal("a]", "a]", true)]
    #[case::escape_star("a\\*", "a*", true)]
    #[case::escape_star_is_literal("a\\*", "ab", false)]
    #[case::escape_in_class("[\\]]", "]", true)]
    #[case::trailing_backslash_is_dropped("ab\\", "ab", true)]
    #[case::empty_pattern_matches_empty("", "", true)]
    #[case::empty_pattern_matches_nothing_else("", "a", false)]
    #[case::unicode("ü*", "über", true)]
    fn gobwas_syntax(#[case] pattern: &str, #[case] value: &str, #[case] expected: bool) {
        assert_eq!(glob_match(pattern, value, false, SLASH), expected, "{pattern} vs {value}");
    }

    #[rstest]
    #[case::unclosed_class("[abc")]
    #[case::empty_class("[]")]
    #[case::empty_negated_class("[!]")]
    #[case::reversed_range("[z-a]")]
    #[case::two_ranges_in_one_class("[a-z0-9]")]
    #[case::range_and_list_in_one_class("[a-cx]")]
    #[case::range_missing_high("[a-]")]
    fn gobwas_bad_patterns_match_nothing(#[case] pattern: &str) {
        for value in ["", "a", "[abc", "x", "-", "a-", "[a-]"] {
            assert!(!glob_match(pattern, value, false, SLASH), "{pattern} matched {value}");
        }
        assert!(glob_match(&format!("!{pattern}"), "anything", true, SLASH), "negated bad pattern matches all");
    }

    #[test]
    fn negation_applies_only_when_allowed() {
        assert!(glob_match("!kube-*", "apps", true, NO_SEP));
        assert!(!glob_match("!kube-*", "kube-system", true, NO_SEP));
        assert!(!glob_match("!kube-*", "apps", false, NO_SEP));
        assert!(glob_match("!kube-*", "!kube-x", false, NO_SEP));
    }

    #[test]
    fn negated_star_matches_nothing() {
        assert!(!glob_match("!*", "", true, NO_SEP));
        assert!(!glob_match("!*", "x", true, NO_SEP));
    }

    #[test]
    fn without_separators_star_crosses_slashes_and_dots() {
        assert!(glob_match("https://*.example.com", "https://eu.prod.example.com", false, NO_SEP));
        assert!(glob_match("team-*", "team-a/b", false, NO_SEP));
        assert!(!glob_match("team-*", "team-a/b", false, SLASH));
    }

    #[test]
    fn nul_ends_the_pattern_as_in_gobwas() {
        assert!(gobwas_match("ab\0cd", "ab", NO_SEP));
    }

    #[test]
    fn deep_or_long_patterns_do_not_blow_up() {
        let deep = "{".repeat(10_000);
        assert!(!gobwas_match(&deep, "a", NO_SEP));
        let stars = "*a".repeat(300);
        assert!(!gobwas_match(&stars, &"a".repeat(299), NO_SEP));
        assert!(gobwas_match(&stars, &"a".repeat(300), NO_SEP));
    }

    #[rstest]
    #[case::literal("Deployment", "Deployment", true)]
    #[case::case_sensitive("deployment", "Deployment", false)]
    #[case::star("Cluster*", "ClusterRoleBinding", true)]
    #[case::star_middle("*Role*", "ClusterRoleBinding", true)]
    #[case::star_empty("", "", true)]
    #[case::empty_pattern_needs_empty_name("", "apps", false)]
    #[case::star_stops_at_slash("*", "a/b", false)]
    #[case::star_matches_dots("*.k8s.io", "rbac.authorization.k8s.io", true)]
    #[case::question("Rol?", "Role", true)]
    #[case::question_not_slash("a?b", "a/b", false)]
    #[case::class("[CR]ole", "Role", true)]
    #[case::class_range("[a-c]pps", "apps", true)]
    #[case::class_several_ranges("[a-cx-z]", "y", true)]
    #[case::caret_negates("[^a]pps", "apps", false)]
    #[case::caret_negates_other("[^b]pps", "apps", true)]
    #[case::bang_is_literal_in_go("[!a]pps", "apps", true)]
    #[case::bang_is_literal_in_go_bang("[!a]pps", "!pps", true)]
    #[case::bang_is_literal_in_go_other("[!a]pps", "bpps", false)]
    #[case::escape("\\*", "*", true)]
    #[case::escape_miss("\\*", "a", false)]
    #[case::escaped_bracket_in_class("[\\]]", "]", true)]
    #[case::star_backtracks("a*b*c", "axxbyyc", true)]
    #[case::last_chunk_must_end("a*b", "abxb", true)]
    #[case::last_chunk_must_end_miss("a*b", "abx", false)]
    fn go_filepath_match_cases(#[case] pattern: &str, #[case] name: &str, #[case] expected: bool) {
        assert_eq!(filepath_match(pattern, name), expected, "{pattern} vs {name}");
    }

    #[rstest]
    #[case::unclosed("[abc")]
    #[case::empty_class("[]")]
    #[case::dash_first("[-a]")]
    #[case::dash_last("[a-]")]
    #[case::trailing_backslash("abc\\")]
    #[case::bad_after_mismatch("x[")]
    #[case::bad_after_star("*[")]
    fn go_filepath_bad_patterns_match_nothing(#[case] pattern: &str) {
        for name in ["", "a", "abc", "x", "x[", "-"] {
            assert!(!filepath_match(pattern, name), "{pattern} matched {name}");
        }
    }

    #[test]
    fn go_filepath_bad_pattern_is_an_error_even_without_a_match() {
        assert_eq!(go_filepath_match("a[", "b"), Err(()));
        assert_eq!(go_filepath_match("b*[", "b"), Err(()));
    }
}
