//! The CI recipes (`examples/ci/github-actions.yml`, `examples/ci/gitlab-ci.yml`) and the
//! pre-commit hook (`.pre-commit-hooks.yaml`): they parse, use only flags `syncgate check --help`
//! lists, cache the directory syncgate uses, and their exact `syncgate check` command lines run on
//! `examples/quickstart` (which has the `rendered/` and `policies/` layout the recipes assume),
//! writing valid SARIF 2.1.0 and JUnit XML and exiting 1 on its denial.
//!
//! The command lines run through `sh -c` as the CI shells run them, with `SYNCGATE_OFFLINE=true`
//! in the environment: this machine has no route to the quickstart's registries. Registry access
//! is covered by the `pin`, `signatures` and `helm` tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{root, run, syncgate};

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).map_err(|e| format!("{path}: {e}")).expect("recipe file");
    serde_saphyr::from_str(&text).map_err(|e| format!("{path}: {e}")).expect("recipe is YAML")
}

/// Every `syncgate check …` line of a workflow's `run:` steps.
fn github_lines(workflow: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            if let Some(script) = step["run"].as_str() {
                lines.extend(script.lines().map(str::trim).filter(|l| l.starts_with("syncgate ")).map(str::to_owned));
            }
        }
    }
    lines
}

/// Every `syncgate check …` command of the GitLab job's script, without the `|| status=$?` tail.
fn gitlab_lines(pipeline: &Value) -> Vec<String> {
    let script = pipeline["syncgate"]["script"].as_array().expect("syncgate job script");
    script
        .iter()
        .filter_map(Value::as_str)
        .filter(|l| l.starts_with("syncgate "))
        .map(|l| l.split(" || ").next().unwrap_or(l).to_owned())
        .collect()
}

/// The flags `syncgate check --help` lists.
fn check_flags() -> Vec<String> {
    let home = tempfile::tempdir().expect("temp dir");
    let help = run(syncgate(home.path()).args(["check", "--help"]));
    assert_eq!(help.code, 0, "{}", help.stderr);
    help.stdout
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=')
        .filter(|w| w.starts_with('-') && w.len() > 1 && !w.starts_with("---"))
        .map(|w| w.trim_end_matches(['.', ':']).to_owned())
        .collect()
}

fn assert_known_flags(line: &str, known: &[String]) {
    let command = line.split('>').next().unwrap_or(line);
    for word in command.split_whitespace().filter(|w| w.starts_with('-') && *w != "-") {
        let flag = word.split('=').next().unwrap_or(word);
        assert!(known.iter().any(|k| k == flag), "{flag} in `{line}` is not a flag of syncgate check");
    }
}

/// A copy of `examples/quickstart` to run the recipes in, and its HOME.
struct Workspace {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        crate::argocd_example::copy_tree(&root().join("examples/quickstart"), dir.path(), "127.0.0.1:5000");
        Workspace { dir, home: tempfile::tempdir().expect("temp dir") }
    }

    /// `sh -c LINE` in the workspace, syncgate on PATH, offline, isolated HOME.
    fn sh(&self, line: &str) -> crate::common::Run {
        let bin_dir = assert_cmd::cargo::cargo_bin("syncgate").parent().expect("bin dir").to_path_buf();
        let path = std::env::join_paths(
            std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .expect("PATH");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("SYNCGATE_OFFLINE", "true")
            .output()
            .expect("sh runs");
        crate::common::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).map_err(|e| format!("{name}: {e}")).expect("report file")
    }
}

/// SARIF 2.1.0 as GitHub code scanning requires it: version, schema, driver with rules, and
/// results with a known ruleId, a level, a message and a file and line location.
fn assert_sarif(text: &str) {
    let sarif: Value = serde_json::from_str(text).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().is_some_and(|s| s.contains("sarif-2.1.0")), "{}", sarif["$schema"]);
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "syncgate");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("rule id"))
        .collect();
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the quickstart's denial shows up");
    for result in results {
        let rule = result["ruleId"].as_str().expect("ruleId");
        assert!(rules.contains(&rule), "{rule} is described in tool.driver.rules");
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().expect("level")), "{result}");
        assert!(result["message"]["text"].as_str().is_some_and(|t| !t.is_empty()), "{result}");
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("file");
        assert!(uri.starts_with("rendered/") && Path::new(uri).extension().is_some(), "{uri}");
        assert!(location["region"]["startLine"].as_u64().is_some_and(|l| l >= 1), "{result}");
    }
    assert!(results.iter().any(|r| r["level"] == "error"), "the denial is an error");
}

/// JUnit XML as GitLab and the JUnit reporter actions read it: `testsuites` of `testsuite`s of
/// `testcase`s, counts that add up, failures with a message.
fn assert_junit(text: &str) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut suites, mut cases, mut failures, mut declared_tests, mut declared_failures) = (0, 0, 0, None, None);
    let mut root = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).expect("name");
                let attr = |key: &str| {
                    e.try_get_attribute(key)
                        .expect("attribute")
                        .map(|a| a.unescape_value().expect("value").into_owned())
                };
                root.get_or_insert_with(|| name.clone());
                match name.as_str() {
                    "testsuites" => {
                        declared_tests = attr("tests").map(|t| t.parse::<usize>().expect("tests"));
                        declared_failures = attr("failures").map(|t| t.parse::<usize>().expect("failures"));
                    }
                    "testsuite" => suites += 1,
                    "testcase" => {
                        assert!(attr("name").is_some() && attr("classname").is_some(), "testcase names");
                        cases += 1;
                    }
                    "failure" => {
                        assert!(attr("message").is_some_and(|m| !m.is_empty()), "failure message");
                        failures += 1;
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("testsuites"));
    assert!(suites > 0);
    assert_eq!(declared_tests, Some(cases));
    assert_eq!(declared_failures, Some(failures));
    assert!(failures > 0, "the quickstart's denial is a failure");
}

#[test]
fn ci_recipes_parse_and_use_only_flags_syncgate_check_lists() {
    let known = check_flags();
    let github = yaml("examples/ci/github-actions.yml");
    let gitlab = yaml("examples/ci/gitlab-ci.yml");
    let hooks = yaml(".pre-commit-hooks.yaml");
    let mut lines = github_lines(&github);
    lines.extend(gitlab_lines(&gitlab));
    for hook in hooks.as_array().expect("a list of hooks") {
        let args: Vec<&str> = hook["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
        lines.push(format!("{} {}", hook["entry"].as_str().expect("entry"), args.join(" ")));
    }
    assert_eq!(lines.len(), 5, "{lines:#?}");
    for line in &lines {
        assert!(line.starts_with("syncgate check "), "{line}");
        assert_known_flags(line, &known);
    }
}

#[test]
fn ci_github_workflow_uploads_sarif_and_junit_even_when_denied_and_fails_the_job() {
    let workflow = yaml("examples/ci/github-actions.yml");
    assert_eq!(workflow["permissions"]["security-events"], "write");
    let steps = workflow["jobs"]["gate"]["steps"].as_array().expect("steps");
    let uses = |prefix: &str| steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)));
    let checks: Vec<&Value> =
        steps.iter().filter(|s| s["run"].as_str().is_some_and(|r| r.starts_with("syncgate check"))).collect();
    assert_eq!(checks.len(), 2);
    for check in &checks {
        assert_eq!(check["continue-on-error"], true, "{check}");
    }
    let upload = uses("github/codeql-action/upload-sarif@").expect("upload-sarif step");
    assert_eq!(upload["with"]["sarif_file"], "syncgate.sarif");
    assert_eq!(upload["if"], "${{ !cancelled() }}");
    let junit = uses("mikepenz/action-junit-report@").expect("JUnit reporter");
    assert_eq!(junit["with"]["report_paths"], "syncgate-junit.xml");
    let last = steps.last().expect("a final step");
    assert_eq!(last["if"], "steps.sarif.outcome == 'failure' || steps.junit.outcome == 'failure'");
    assert!(last["run"].as_str().is_some_and(|r| r.contains("exit 1")));
}

#[test]
fn ci_caches_are_syncgates_cache_directory() {
    // syncgate prints the disk tier's directory; it must lie under what the recipes cache.
    let home = tempfile::tempdir().expect("temp dir");
    let stats = run(syncgate(home.path()).env_remove("XDG_CACHE_HOME").args(["cache", "stats"]));
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    let workflow = yaml("examples/ci/github-actions.yml");
    let steps = workflow["jobs"]["gate"]["steps"].as_array().expect("steps");
    let cache = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/cache@")))
        .expect("actions/cache step");
    let path = cache["with"]["path"].as_str().expect("path");
    let cached = PathBuf::from(path.replacen('~', &home.path().display().to_string(), 1));
    assert!(stats.stdout.contains(&format!("in {}/", cached.display())), "{path} vs {}", stats.stdout);
    let key = cache["with"]["key"].as_str().expect("key");
    assert!(key.contains("hashFiles('policies/**')"), "keyed by the policies: {key}");

    let pipeline = yaml("examples/ci/gitlab-ci.yml");
    let job = &pipeline["syncgate"];
    let xdg = job["variables"]["XDG_CACHE_HOME"].as_str().expect("XDG_CACHE_HOME");
    let project = tempfile::tempdir().expect("project dir");
    let xdg = xdg.replace("$CI_PROJECT_DIR", &project.path().display().to_string());
    let stats = run(syncgate(home.path()).env("XDG_CACHE_HOME", &xdg).args(["cache", "stats"]));
    let cached = job["cache"]["paths"][0].as_str().expect("cache path");
    assert!(
        stats.stdout.contains(&format!("in {}/", project.path().join(cached.trim_end_matches('/')).display())),
        "{cached} vs {}",
        stats.stdout
    );
    assert!(
        job["cache"]["key"]["files"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f.as_str().is_some_and(|f| f.starts_with("policies/"))))
    );
    assert_eq!(job["artifacts"]["reports"]["junit"], "syncgate-junit.xml");
    assert_eq!(job["artifacts"]["when"], "always");
}

#[rstest::rstest]
#[case::github("examples/ci/github-actions.yml")]
#[case::gitlab("examples/ci/gitlab-ci.yml")]
fn ci_command_lines_deny_the_quickstart_with_valid_sarif_and_junit(#[case] recipe: &str) {
    let document = yaml(recipe);
    let lines = if recipe.contains("gitlab") { gitlab_lines(&document) } else { github_lines(&document) };
    let workspace = Workspace::new();
    for line in &lines {
        let out = workspace.sh(line);
        assert_eq!(out.code, 1, "`{line}` denies the quickstart: {}", out.stderr);
        assert_eq!(out.stderr, "", "`{line}`");
        let file = line.rsplit('>').next().expect("redirected").trim();
        let report = workspace.read(file);
        if line.contains("--output sarif") {
            assert_sarif(&report);
        } else if line.contains("--output junit") {
            assert_junit(&report);
        } else {
            panic!("unexpected command line {line}");
        }
    }
}

#[test]
fn ci_pre_commit_hook_runs_as_pre_commit_passes_file_names() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = &hooks[0];
    assert_eq!(hook["id"], "syncgate-check");
    assert_eq!(hook["pass_filenames"], true);
    let pattern = regex::Regex::new(hook["files"].as_str().expect("files")).expect("files is a regex");
    let workspace = Workspace::new();
    // pre-commit runs `entry args… file…` with the staged files that match `files`.
    let mut staged = vec!["rendered/monitoring.yaml", "rendered/shop.yaml", "syncgate-test.yaml"];
    staged.retain(|f| pattern.is_match(f) && f.starts_with("rendered/"));
    assert_eq!(staged.len(), 2);
    let args: Vec<&str> = hook["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let entry = hook["entry"].as_str().expect("entry");
    let denied = workspace.sh(&format!("{entry} {} {}", args.join(" "), staged.join(" ")));
    assert_eq!(denied.code, 1, "shop.yaml holds the denied Deployment: {}", denied.stderr);
    assert!(denied.stdout.contains("Deployment/shop/api"), "{}", denied.stdout);
    let allowed = workspace.sh(&format!("{entry} {} rendered/monitoring.yaml", args.join(" ")));
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);
}
