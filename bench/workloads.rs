//! Workload documents shared by the benchmarks: one pod spec wrapped in each kind that carries a
//! pod template, so both benchmarks read the same shapes of YAML.

/// How many kinds [`workload`] wraps a pod spec in.
pub(crate) const KINDS: usize = 6;

/// Resource `i` in namespace `ns` running `pod` (a pod spec at indentation 0), as a StatefulSet,
/// DaemonSet, CronJob, Pod, Job or Deployment by `kind`.
pub(crate) fn workload(kind: usize, i: usize, ns: &str, pod: &str) -> String {
    match kind % KINDS {
        0 => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db-{i}\n  namespace: {ns}\nspec:\n  serviceName: db-{i}\n  selector:\n    matchLabels: {{app: db-{i}}}\n  template:\n    metadata:\n      labels: {{app: db-{i}}}\n    spec:\n{}",
            indent(pod, 6)
        ),
        1 => format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent-{i}\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels: {{app: agent-{i}}}\n  template:\n    metadata:\n      labels: {{app: agent-{i}}}\n    spec:\n{}",
            indent(pod, 6)
        ),
        2 => format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: job-{i}\n  namespace: {ns}\nspec:\n  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n{}",
            indent(pod, 10)
        ),
        3 => format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}\n  namespace: {ns}\nspec:\n{}",
            indent(pod, 2)
        ),
        4 => format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once-{i}\n  namespace: {ns}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n{}",
            indent(pod, 6)
        ),
        _ => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {ns}\n  labels: {{app: app-{i}, tier: backend}}\nspec:\n  replicas: {}\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n{}",
            1 + i % 3,
            indent(pod, 6)
        ),
    }
}

/// `text` with every line indented by `by` spaces.
pub(crate) fn indent(text: &str, by: usize) -> String {
    use std::fmt::Write as _;
    let pad = " ".repeat(by);
    let mut out = String::with_capacity(text.len() + text.lines().count() * by);
    for line in text.lines() {
        let _ = writeln!(out, "{pad}{line}");
    }
    out
}
