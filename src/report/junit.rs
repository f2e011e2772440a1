//! The JUnit XML report (`--output junit`) for CI test dashboards: one `<testsuite>` per resource, one
//! `<testcase>` per finding. Owns the mapping from statuses to JUnit outcomes and the XML escaping.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{Finding, Mode, Report, Status};

/// Writes `report` as JUnit XML: a `<testsuites>` root with totals, a `<testsuite>` per resource (in order
/// of first appearance) and a `<testcase>` per finding.
///
/// `fail` is a `<failure>`, `error` an `<error>`, `skip` a `<skipped/>`; `warn` passes and carries the
/// warning in `<system-out>`.
pub fn write_junit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut xml = Writer::new_with_indent(out, b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let totals = Counts::of(report.all_findings()).attributes("syncgate");
    xml.create_element("testsuites").with_attributes(totals.each()).write_inner_content(|xml| {
        for evaluated in &report.resources {
            let name = evaluated.resource.to_string();
            let counts = Counts::of(report.findings_of(evaluated)).attributes(&name);
            xml.create_element("testsuite").with_attributes(counts.each()).write_inner_content(|xml| {
                report.findings_of(evaluated).try_for_each(|finding| write_case(xml, &name, &finding))
            })?;
        }
        Ok(())
    })?;
    xml.into_inner().write_all(b"\n")
}

/// One `<testcase>`: empty for a pass, with a `<failure>`, `<error>`, `<skipped>` or `<system-out>` child
/// otherwise.
fn write_case<W: Write>(xml: &mut Writer<W>, suite: &str, finding: &Finding) -> io::Result<()> {
    let mut name = finding.rule.clone();
    if let Some(container) = &finding.container {
        let _ = write!(name, " [{container}]");
    }
    let case = xml
        .create_element("testcase")
        .with_attribute(("classname", attribute(suite).as_ref()))
        .with_attribute(("name", attribute(&name).as_ref()));
    let message = attribute(&finding.message);

    match finding.status {
        Status::Pass => case.write_empty().map(drop),
        Status::Skip => case
            .write_inner_content(|xml| {
                xml.create_element("skipped").with_attribute(("message", message.as_ref())).write_empty().map(drop)
            })
            .map(drop),
        Status::Warn => case
            .write_inner_content(|xml| {
                xml.create_element("system-out").write_text_content(text(&details(finding))).map(drop)
            })
            .map(drop),
        Status::Fail | Status::Error => {
            let element = if finding.status == Status::Fail { "failure" } else { "error" };
            case.write_inner_content(|xml| {
                xml.create_element(element)
                    .with_attribute(("message", message.as_ref()))
                    .with_attribute(("type", attribute(&finding.rule).as_ref()))
                    .write_text_content(text(&details(finding)))
                    .map(drop)
            })
            .map(drop)
        }
    }
}

/// The full text of a finding, one labelled line per fact.
fn details(finding: &Finding) -> String {
    let mut text = String::new();
    let word = match finding.status {
        Status::Fail => "DENY",
        Status::Error => "ERROR",
        Status::Warn if finding.mode == Mode::Report && finding.exception.is_none() => "WARN (report mode)",
        Status::Warn => "WARN",
        Status::Pass => "PASS",
        Status::Skip => "SKIP",
    };
    let _ = writeln!(text, "{word} {}: {}", finding.rule, finding.message);
    let _ = writeln!(text, "resource: {}", finding.resource);
    if let Some(container) = &finding.container {
        let _ = writeln!(text, "container: {container}");
    }
    if let Some(image) = &finding.image {
        let _ = writeln!(text, "image: {image}");
    }
    if let Some(path) = &finding.path {
        let _ = writeln!(text, "field: {path}");
    }
    if let Some(location) = &finding.location {
        let _ = writeln!(text, "location: {location}");
    }
    if let Some(fix) = &finding.fix {
        let _ = writeln!(text, "fix: {fix}");
    }
    if let Some(exception) = &finding.exception {
        let _ = writeln!(text, "exception: {} ({}, expires {})", exception.name, exception.reason, exception.expires);
    }
    if let Some(policy) = &finding.policy {
        let _ = writeln!(text, "policy: {policy}");
    }
    text
}

/// Test, failure, error and skip counts over some findings.
#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of<F: std::borrow::Borrow<Finding>>(findings: impl IntoIterator<Item = F>) -> Self {
        findings.into_iter().fold(Counts::default(), |mut counts, finding| {
            counts.tests += 1;
            match finding.borrow().status {
                Status::Fail => counts.failures += 1,
                Status::Error => counts.errors += 1,
                Status::Skip => counts.skipped += 1,
                Status::Pass | Status::Warn => {}
            }
            counts
        })
    }

    fn attributes(&self, name: &str) -> Attributes {
        Attributes([
            ("name", attribute(name).into_owned()),
            ("tests", self.tests.to_string()),
            ("failures", self.failures.to_string()),
            ("errors", self.errors.to_string()),
            ("skipped", self.skipped.to_string()),
        ])
    }
}

/// The attributes of `<testsuites>` and `<testsuite>`, owned until written.
struct Attributes([(&'static str, String); 5]);

impl Attributes {
    fn each(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(key, value)| (*key, value.as_str()))
    }
}

/// An attribute value: characters XML cannot hold become `\u{…}`, and line breaks and tabs become spaces
/// (a parser would normalise them to spaces anyway). quick-xml escapes `<&>"'` when writing.
fn attribute(value: &str) -> Cow<'_, str> {
    if value.chars().all(|c| !c.is_control()) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(
        value
            .chars()
            .map(|c| match c {
                '\n' | '\r' | '\t' => " ".to_owned(),
                c if c.is_control() => c.escape_default().to_string(),
                c => c.to_string(),
            })
            .collect(),
    )
}

/// Element text: `<&>` escaped, line breaks and tabs kept, other characters XML cannot hold written as
/// `\u{…}`.
fn text(value: &str) -> BytesText<'static> {
    let valid: String = value
        .chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect();
    BytesText::from_escaped(partial_escape(valid).into_owned())
}

#[cfg(test)]
mod tests {
    use quick_xml::Reader;
    use quick_xml::events::BytesStart;

    use super::*;
    use crate::report::json::sample;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        write_junit(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// An element as parsed back: name, unescaped attributes, unescaped text content.
    #[derive(Debug, Default)]
    struct Element {
        name: String,
        attributes: Vec<(String, String)>,
        text: String,
    }

    impl Element {
        fn attribute(&self, key: &str) -> &str {
            self.attributes.iter().find(|(name, _)| name == key).map_or("", |(_, value)| value.as_str())
        }

        fn count(&self, key: &str) -> usize {
            self.attribute(key).parse().unwrap()
        }
    }

    fn element(start: &BytesStart<'_>) -> Element {
        Element {
            name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
            attributes: start
                .attributes()
                .map(|attribute| {
                    let attribute = attribute.unwrap();
                    (
                        String::from_utf8(attribute.key.as_ref().to_vec()).unwrap(),
                        attribute.unescape_value().unwrap().into_owned(),
                    )
                })
                .collect(),
            text: String::new(),
        }
    }

    /// Parses `xml` strictly (matching end tags, well-formed text) into a flat list of elements.
    fn parse(xml: &str) -> Vec<Element> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut elements: Vec<Element> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Start(start) => {
                    open.push(elements.len());
                    elements.push(element(&start));
                }
                Event::Empty(start) => elements.push(element(&start)),
                Event::Text(text) => {
                    if let Some(&index) = open.last() {
                        elements[index].text.push_str(&text.decode().unwrap());
                    }
                }
                Event::GeneralRef(reference) => {
                    let name = reference.decode().unwrap();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unexpected entity &{name};"));
                    let &index = open.last().unwrap();
                    elements[index].text.push_str(resolved);
                }
                Event::End(_) => {
                    open.pop().unwrap();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(open.is_empty(), "unclosed elements");
        elements
    }

    fn named<'a>(elements: &'a [Element], name: &str) -> Vec<&'a Element> {
        elements.iter().filter(|element| element.name == name).collect()
    }

    #[test]
    fn sample_report_matches_golden_file() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn output_is_well_formed_and_totals_match_the_summary() {
        let report = sample::report();
        let elements = parse(&render(&report));
        let root = &elements[0];
        assert_eq!(root.name, "testsuites");
        assert_eq!(root.count("tests"), report.all_findings().count());
        assert_eq!(root.count("failures"), report.summary.fail);
        assert_eq!(root.count("errors"), report.summary.error);
        assert_eq!(root.count("skipped"), report.summary.skip);

        let suites = named(&elements, "testsuite");
        assert_eq!(suites.len(), report.summary.resources);
        assert_eq!(suites.iter().map(|suite| suite.count("tests")).sum::<usize>(), report.all_findings().count());
        assert_eq!(suites.iter().map(|suite| suite.count("failures")).sum::<usize>(), report.summary.fail);

        assert_eq!(named(&elements, "testcase").len(), report.all_findings().count());
        assert_eq!(named(&elements, "failure").len(), report.summary.fail);
        assert_eq!(named(&elements, "error").len(), report.summary.error);
        assert_eq!(named(&elements, "skipped").len(), report.summary.skip);
        assert_eq!(named(&elements, "system-out").len(), report.summary.warn);
    }

    #[test]
    fn testcase_is_named_after_rule_and_container() {
        let elements = parse(&render(&sample::report()));
        let cases = named(&elements, "testcase");
        assert_eq!(cases[4].attribute("classname"), "Deployment/web/api");
        assert_eq!(cases[4].attribute("name"), "allowed-registries [nginx-proxy]");
        assert_eq!(cases[0].attribute("name"), "allowed-registries");
    }

    #[test]
    fn markup_characters_survive_a_round_trip() {
        let mut report = sample::report();
        let tricky = r#"value <script> & "quoted" 'single' ]]> done"#;
        let at = report.findings.iter().position(|f| f.rule == "allowed-registries").unwrap();
        report.findings[at].message = tricky.to_owned();
        report.findings[at].fix = Some(tricky.to_owned());
        let owner = report.resources.iter().position(|r| r.findings.contains(&at)).unwrap();
        report.resources[owner].resource.name = "a<b>&\"c\"".to_owned();
        report.findings[at].resource.name = "a<b>&\"c\"".to_owned();

        let xml = render(&report);
        let elements = parse(&xml);
        let failure = named(&elements, "failure")[0];
        assert_eq!(failure.attribute("message"), tricky);
        assert!(failure.text.contains(&format!("fix: {tricky}\n")), "{}", failure.text);
        assert!(
            named(&elements, "testsuite").iter().any(|suite| suite.attribute("name") == "Deployment/web/a<b>&\"c\"")
        );
        assert!(
            xml.contains("message=\"value &lt;script&gt; &amp; &quot;quoted&quot; &apos;single&apos; ]]&gt; done\"")
        );
    }

    #[test]
    fn characters_xml_cannot_hold_are_escaped_as_text() {
        let mut report = sample::report();
        let at = report.findings.iter().position(|f| f.rule == "allowed-registries").unwrap();
        report.findings[at].message = "bell\x07 escape\x1b[31m nul\0\nnext line".to_owned();
        let xml = render(&report);
        assert!(!xml.contains(['\x07', '\x1b', '\0']));
        let elements = parse(&xml);
        let failure = named(&elements, "failure")[0];
        assert_eq!(failure.attribute("message"), r"bell\u{7} escape\u{1b}[31m nul\u{0} next line");
        assert!(
            failure.text.starts_with("DENY allowed-registries: bell\\u{7} escape\\u{1b}[31m nul\\u{0}\nnext line\n")
        );
    }

    #[test]
    fn empty_report_is_an_empty_root() {
        let report = Report::from_findings(Vec::new(), Vec::new(), 0, 0);
        assert_eq!(
            render(&report),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"syncgate\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\">\n\
             </testsuites>\n"
        );
    }
}
