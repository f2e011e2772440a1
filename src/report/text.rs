//! The human-readable report for terminals, CI logs and the Argo CD UI: findings grouped by resource,
//! denials and warnings in detail, passes only counted, then a one-line verdict and the exceptions that
//! need attention. Owns layout and colour; whether to colour is the caller's decision (TTY, `NO_COLOR`).

use std::fmt;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{Decision, ExceptionState, Finding, Mode, Report, ResourceId, SourceLocation, Status};

/// Denials, errors and the denied verdict.
const RED: Style = AnsiColor::Red.on_default().bold();
/// Warnings and exceptions that need attention.
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
/// Passes and the allowed verdict.
const GREEN: Style = AnsiColor::Green.on_default().bold();
/// Field paths, locations and counts: context, not the point.
const DIM: Style = Style::new().dimmed();
/// Resource names.
const BOLD: Style = Style::new().bold();

/// Continuation lines of a finding line up under its rule id: two spaces, the status word padded to five,
/// two spaces.
const INDENT: &str = "         ";

/// Writes `report` for a human reader; `color` adds ANSI styles, and without it no escape byte is written.
///
/// Control characters coming from the input (resource names, messages, paths) are written escaped, so a
/// manifest cannot inject terminal sequences.
pub fn write_text(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let paint = Paint { color };
    let groups = group_by_resource(report);

    let mut previous_detailed = false;
    for (index, group) in groups.iter().enumerate() {
        let detailed = group.detailed().next().is_some();
        if index > 0 && (detailed || previous_detailed) {
            writeln!(out)?;
        }
        if detailed {
            write_detailed(out, paint, group)?;
        } else {
            write_passed(out, paint, group)?;
        }
        previous_detailed = detailed;
    }
    if !groups.is_empty() {
        writeln!(out)?;
    }
    write_evidence(out, paint, report)?;
    write_verdict(out, paint, report, &groups)?;
    write_exceptions(out, paint, report)
}

/// One line per verified image: what its signatures and attestations proved.
fn write_evidence(out: &mut dyn Write, paint: Paint, report: &Report) -> io::Result<()> {
    for evidence in &report.evidence {
        paint.write(out, GREEN, "verified")?;
        writeln!(
            out,
            " {}@{} [ImagePolicy {}]: {}",
            Clean(&evidence.image),
            Clean(&evidence.digest),
            Clean(&evidence.policy),
            Clean(&evidence.summary())
        )?;
    }
    if !report.evidence.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// The findings about one resource, in the order they arrived, and how many rules it passed.
struct Group<'a> {
    resource: &'a ResourceId,
    findings: &'a [Finding],
    passed: usize,
}

impl<'a> Group<'a> {
    /// Findings shown in full: `fail`, `error` and `warn`.
    fn detailed(&self) -> impl Iterator<Item = &'a Finding> + '_ {
        self.findings.iter().filter(|finding| matches!(finding.status, Status::Fail | Status::Error | Status::Warn))
    }

    fn count(&self, status: Status) -> usize {
        let stored = self.findings.iter().filter(|finding| finding.status == status).count();
        if status == Status::Pass { stored + self.passed } else { stored }
    }

    fn denies(&self) -> bool {
        self.findings.iter().any(|finding| matches!(finding.status, Status::Fail | Status::Error))
    }
}

/// One group per evaluated resource, in stream order.
fn group_by_resource(report: &Report) -> Vec<Group<'_>> {
    report
        .resources
        .iter()
        .map(|evaluated| Group {
            resource: &evaluated.resource,
            findings: report.findings.get(evaluated.findings.clone()).unwrap_or_default(),
            passed: evaluated.passed.len(),
        })
        .collect()
}

/// `✓ Deployment/web/frontend  (4 rules passed)`.
fn write_passed(out: &mut dyn Write, paint: Paint, group: &Group<'_>) -> io::Result<()> {
    paint.write(out, GREEN, "✓")?;
    write!(out, " ")?;
    paint.write(out, BOLD, Clean(&group.resource.to_string()))?;
    write!(out, "  ")?;
    let counts = pass_counts(group.count(Status::Pass), group.count(Status::Skip));
    paint.write(out, DIM, format_args!("({counts})"))?;
    writeln!(out)
}

/// A resource header with its file, then each denial or warning, then the count of what passed.
fn write_detailed(out: &mut dyn Write, paint: Paint, group: &Group<'_>) -> io::Result<()> {
    let (mark, style) = if group.denies() { ("✗", RED) } else { ("!", YELLOW) };
    paint.write(out, style, mark)?;
    write!(out, " ")?;
    paint.write(out, BOLD, Clean(&group.resource.to_string()))?;

    // The header names the document; each finding adds its own line within it.
    let document = group
        .detailed()
        .find_map(|finding| finding.location.as_ref())
        .map(|location| SourceLocation { line: None, ..location.clone() });
    if let Some(document) = &document {
        write!(out, "  ")?;
        paint.write(out, DIM, Clean(&document.to_string()))?;
    }
    writeln!(out)?;

    for finding in group.detailed() {
        write_finding(out, paint, finding, document.as_ref())?;
    }

    let (passed, skipped) = (group.count(Status::Pass), group.count(Status::Skip));
    if passed + skipped > 0 {
        write!(out, "  ")?;
        paint.write(out, GREEN, "✓")?;
        write!(out, " ")?;
        paint.write(out, DIM, pass_counts(passed, skipped))?;
        writeln!(out)?;
    }
    Ok(())
}

/// One denial or warning: status, rule and container, then field, message, fix, exception on their own lines.
fn write_finding(
    out: &mut dyn Write,
    paint: Paint,
    finding: &Finding,
    document: Option<&SourceLocation>,
) -> io::Result<()> {
    let (word, style) = match finding.status {
        Status::Error => ("ERROR", RED),
        Status::Warn => ("WARN", YELLOW),
        Status::Fail | Status::Pass | Status::Skip => ("DENY", RED),
    };
    write!(out, "  ")?;
    paint.write(out, style, format_args!("{word:<5}"))?;
    write!(out, "  {}", Clean(&finding.rule))?;
    if let Some(container) = &finding.container {
        write!(out, "  container {}", Clean(container))?;
    }
    if finding.status == Status::Warn && finding.mode == Mode::Report && finding.exception.is_none() {
        write!(out, "  ")?;
        paint.write(out, DIM, "(report mode)")?;
    }
    writeln!(out)?;

    let same_document = match (&finding.location, document) {
        (Some(location), Some(document)) => location.file == document.file && location.document == document.document,
        _ => false,
    };
    let line = finding.location.as_ref().and_then(|location| location.line).filter(|_| same_document);
    match (&finding.path, line) {
        (Some(path), Some(line)) => {
            write!(out, "{INDENT}")?;
            paint.write(out, DIM, format_args!("at {} (line {line})", Clean(path)))?;
            writeln!(out)?;
        }
        (Some(path), None) => {
            write!(out, "{INDENT}")?;
            paint.write(out, DIM, format_args!("at {}", Clean(path)))?;
            writeln!(out)?;
        }
        (None, Some(line)) => {
            write!(out, "{INDENT}")?;
            paint.write(out, DIM, format_args!("at line {line}"))?;
            writeln!(out)?;
        }
        (None, None) => {}
    }
    if let Some(location) = finding.location.as_ref().filter(|_| !same_document) {
        write!(out, "{INDENT}")?;
        paint.write(out, DIM, format_args!("in {}", Clean(&location.to_string())))?;
        writeln!(out)?;
    }

    writeln!(out, "{INDENT}{}", Clean(&finding.message))?;
    if let Some(fix) = &finding.fix {
        writeln!(out, "{INDENT}fix: {}", Clean(fix))?;
    }
    if let Some(exception) = &finding.exception {
        writeln!(
            out,
            "{INDENT}exception: {} ({}, expires {})",
            Clean(&exception.name),
            Clean(&exception.reason),
            Clean(&exception.expires),
        )?;
    }
    Ok(())
}

/// `denied: 5 violations in 3 of 6 resources (…)` or `allowed: 6 resources (…)`.
fn write_verdict(out: &mut dyn Write, paint: Paint, report: &Report, groups: &[Group<'_>]) -> io::Result<()> {
    let summary = &report.summary;
    match report.decision {
        Decision::Deny => {
            let violations = summary.fail + summary.error;
            let denied = groups.iter().filter(|group| group.denies()).count();
            paint.write(out, RED, "denied")?;
            writeln!(
                out,
                ": {violations} {} in {denied} of {} (pass {}, fail {}, warn {}, skip {}, error {})",
                plural(violations, "violation", "violations"),
                resources(summary.resources),
                summary.pass,
                summary.fail,
                summary.warn,
                summary.skip,
                summary.error,
            )
        }
        Decision::Allow => {
            paint.write(out, GREEN, "allowed")?;
            write!(out, ": {} (pass {}", resources(summary.resources), summary.pass)?;
            if summary.warn > 0 {
                write!(out, ", warn {}", summary.warn)?;
            }
            if summary.skip > 0 {
                write!(out, ", skip {}", summary.skip)?;
            }
            writeln!(out, ")")
        }
    }
}

/// One line per exception that is expired or matched nothing; applied ones show at their findings.
fn write_exceptions(out: &mut dyn Write, paint: Paint, report: &Report) -> io::Result<()> {
    for exception in &report.exceptions {
        let name = Clean(&exception.name);
        match exception.state {
            ExceptionState::Applied => continue,
            ExceptionState::Expired => paint.write(
                out,
                YELLOW,
                format_args!("exception {name} expired on {}: it no longer applies", Clean(&exception.expires)),
            )?,
            ExceptionState::Unused => paint.write(
                out,
                YELLOW,
                format_args!("exception {name} matched nothing: remove it or fix its match"),
            )?,
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `4 rules passed`, `1 rule passed, 2 skipped`, `2 rules skipped`.
fn pass_counts(passed: usize, skipped: usize) -> String {
    match (passed, skipped) {
        (passed, 0) => format!("{passed} {} passed", plural(passed, "rule", "rules")),
        (0, skipped) => format!("{skipped} {} skipped", plural(skipped, "rule", "rules")),
        (passed, skipped) => format!("{passed} {} passed, {skipped} skipped", plural(passed, "rule", "rules")),
    }
}

fn resources(count: usize) -> String {
    format!("{count} {}", plural(count, "resource", "resources"))
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

/// Whether to emit ANSI styles.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    /// Writes `text` in `style` when colouring, plain otherwise.
    fn write(self, out: &mut dyn Write, style: Style, text: impl fmt::Display) -> io::Result<()> {
        if self.color { write!(out, "{}{text}{}", style.render(), style.render_reset()) } else { write!(out, "{text}") }
    }
}

/// Displays a string from the input with control characters (and bidirectional overrides) escaped, so
/// manifest content cannot move the cursor, recolour the terminal or reorder what the reader sees.
pub(super) struct Clean<'a>(pub(super) &'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for c in self.0.chars() {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::report::ExceptionUse;
    use crate::report::json::sample;

    fn render(report: &Report, color: bool) -> String {
        let mut out = Vec::new();
        write_text(report, &mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn allowed(findings: Vec<Finding>) -> Report {
        Report::from_findings(findings, Vec::new(), 1, 1)
    }

    fn web() -> ResourceId {
        ResourceId {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: Some("web".to_owned()),
            name: "frontend".to_owned(),
        }
    }

    #[test]
    fn sample_report_matches_golden_file() {
        insta::assert_snapshot!(render(&sample::report(), false));
    }

    /// Removes `ESC [ … m` sequences.
    fn strip_styles(text: &str) -> String {
        let mut plain = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("\x1b[") {
            plain.push_str(&rest[..start]);
            let end = rest[start..].find('m').unwrap();
            rest = &rest[start + end + 1..];
        }
        plain.push_str(rest);
        plain
    }

    #[test]
    fn colour_only_adds_styles_to_the_plain_text() {
        let report = sample::report();
        assert_eq!(strip_styles(&render(&report, true)), render(&report, false));
    }

    #[rstest]
    #[case::deny_is_red("\x1b[31mDENY ")]
    #[case::error_is_red("\x1b[31mERROR")]
    #[case::warn_is_yellow("\x1b[33mWARN ")]
    #[case::pass_is_green("\x1b[32m✓")]
    #[case::paths_are_dim("\x1b[2mat spec.template.spec.containers[0].securityContext.privileged")]
    #[case::denied_is_red("\x1b[31mdenied")]
    #[case::stale_exceptions_are_yellow("\x1b[33mexception old-redis-root")]
    fn colour_marks_each_kind_of_line(#[case] fragment: &str) {
        let text = render(&sample::report(), true);
        assert!(text.contains(fragment), "{fragment:?} not in {text:?}");
    }

    #[rstest]
    #[case::plain(false)]
    #[case::coloured(true)]
    fn escape_bytes_appear_only_with_colour(#[case] color: bool) {
        let text = render(&sample::report(), color);
        assert_eq!(text.contains('\x1b'), color);
    }

    #[test]
    fn control_characters_from_the_input_are_escaped() {
        let mut report = sample::report();
        let at = report.findings.iter().position(|f| f.rule == "allowed-registries").unwrap();
        report.findings[at].message = "evil \x1b[2J\x1b]0;pwned\x07 message\nnext".to_owned();
        let owner = report.resources.iter().position(|r| r.findings.contains(&at)).unwrap();
        report.resources[owner].resource.name = "api\u{202e}gnp.exe".to_owned();
        let text = render(&report, false);
        assert!(!text.contains('\x1b'));
        assert!(!text.contains('\x07'));
        assert!(!text.contains('\u{202e}'));
        assert!(text.contains(r"evil \u{1b}[2J\u{1b}]0;pwned\u{7} message\nnext"), "{text}");
    }

    #[test]
    fn denied_summary_counts_violations_and_affected_resources() {
        let text = render(&sample::report(), false);
        assert!(
            text.contains("denied: 5 violations in 3 of 6 resources (pass 9, fail 4, warn 2, skip 2, error 1)\n"),
            "{text}"
        );
    }

    #[test]
    fn allowed_report_lists_only_the_counts_that_occurred() {
        let report = allowed(vec![
            sample::finding("disallow-privileged", Status::Pass, &web(), "satisfied"),
            sample::finding("runAsNonRoot", Status::Pass, &web(), "satisfied"),
        ]);
        assert_eq!(
            render(&report, false),
            "✓ Deployment/web/frontend  (2 rules passed)\n\nallowed: 1 resource (pass 2)\n"
        );
    }

    #[test]
    fn allowed_report_with_a_warning_shows_it_in_detail() {
        let warning = Finding {
            mode: Mode::Report,
            container: Some("web".to_owned()),
            ..sample::finding("require-resource-requests", Status::Warn, &web(), "no requests")
        };
        let report = allowed(vec![
            sample::finding("disallow-privileged", Status::Pass, &web(), "satisfied"),
            warning,
            sample::finding("runAsNonRoot", Status::Skip, &web(), "not selected"),
        ]);
        assert_eq!(
            render(&report, false),
            "! Deployment/web/frontend\n\
             \x20 WARN   require-resource-requests  container web  (report mode)\n\
             \x20        no requests\n\
             \x20 ✓ 1 rule passed, 1 skipped\n\
             \n\
             allowed: 1 resource (pass 1, warn 1, skip 1)\n"
        );
    }

    #[test]
    fn empty_report_prints_only_the_verdict() {
        assert_eq!(render(&allowed(Vec::new()), false), "allowed: 1 resource (pass 0)\n");
    }

    #[test]
    fn applied_exceptions_are_not_repeated_in_the_footer() {
        let mut report = allowed(Vec::new());
        report.exceptions.push(ExceptionUse {
            name: "cilium-host-access".to_owned(),
            state: ExceptionState::Applied,
            expires: "2027-03-01T00:00:00Z".to_owned(),
            matched: 1,
        });
        assert!(!render(&report, false).contains("cilium-host-access"));
    }
}
