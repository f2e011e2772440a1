//! What Argo CD tells a Config Management Plugin about the application: the CMP build environment
//! (`ARGOCD_APP_*`, `KUBE_*`, `ARGOCD_ENV_*` plugin env and `PARAM_*` parameters), parsed once into
//! [`AppEnv`] whether it arrives as process environment (`syncgate generate`) or in a gRPC stream.

use std::collections::BTreeMap;

use crate::render::RenderRequest;

/// The application as the CMP environment describes it. Every field is optional: older Argo CD
/// versions omit some (`ARGOCD_APP_PROJECT_NAME` needs v3.0) and API-server-triggered calls get less.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppEnv {
    /// `ARGOCD_APP_NAME`: `<name>`, or `<namespace>_<name>` for applications outside the control
    /// plane namespace.
    pub app_name: Option<String>,
    /// `ARGOCD_APP_NAMESPACE`: the **destination** namespace.
    pub destination_namespace: Option<String>,
    /// `ARGOCD_APP_PROJECT_NAME` (Argo CD 3.0+).
    pub project: Option<String>,
    /// `ARGOCD_APP_SOURCE_REPO_URL`.
    pub repo_url: Option<String>,
    /// `ARGOCD_APP_SOURCE_PATH`.
    pub source_path: Option<String>,
    /// `ARGOCD_APP_REVISION`: the resolved commit.
    pub revision: Option<String>,
    /// `ARGOCD_APP_SOURCE_TARGET_REVISION`: the unresolved revision (`main`, `HEAD`).
    pub target_revision: Option<String>,
    /// `KUBE_VERSION`: destination cluster version, e.g. `1.33.1`.
    pub kube_version: Option<String>,
    /// `KUBE_API_VERSIONS`, split on commas.
    pub api_versions: Vec<String>,
    /// Plugin env (`ARGOCD_ENV_<NAME>`, prefix removed) and parameters (`PARAM_<NAME>`, prefix
    /// removed); plugin env wins when both set the same name.
    pub parameters: BTreeMap<String, String>,
}

impl AppEnv {
    /// Reads the variables Argo CD sets from `vars` (the process environment, or the `env` entries of
    /// a CMP stream's metadata). Unrelated variables are ignored.
    pub fn from_vars<I, K, V>(vars: I) -> AppEnv
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut env = AppEnv::default();
        let mut params = BTreeMap::new();
        let mut plugin = BTreeMap::new();
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref());
            let set = Some(value.to_owned()).filter(|v| !v.is_empty());
            match key {
                "ARGOCD_APP_NAME" => env.app_name = set,
                "ARGOCD_APP_NAMESPACE" => env.destination_namespace = set,
                "ARGOCD_APP_PROJECT_NAME" => env.project = set,
                "ARGOCD_APP_SOURCE_REPO_URL" => env.repo_url = set,
                "ARGOCD_APP_SOURCE_PATH" => env.source_path = set,
                "ARGOCD_APP_REVISION" => env.revision = set,
                "ARGOCD_APP_SOURCE_TARGET_REVISION" => env.target_revision = set,
                "KUBE_VERSION" => env.kube_version = set,
                "KUBE_API_VERSIONS" => {
                    env.api_versions = value.split(',').filter(|v| !v.is_empty()).map(str::to_owned).collect();
                }
                _ => {
                    if let Some(name) = key.strip_prefix("ARGOCD_ENV_") {
                        // Argo CD passes plugin env names as written (`env: [{name: policy}]` gives
                        // ARGOCD_ENV_policy): escape them as parameter names are.
                        plugin.insert(escape(name), value.to_owned());
                    } else if let Some(name) = key.strip_prefix("PARAM_") {
                        params.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
        params.extend(plugin);
        env.parameters = params;
        env
    }

    /// The process environment.
    #[must_use]
    pub fn from_process() -> AppEnv {
        AppEnv::from_vars(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// A plugin env entry or parameter by name: `policy` finds `ARGOCD_ENV_POLICY` or `PARAM_POLICY`
    /// (names are upper-cased and every character outside `[A-Z0-9_]` becomes `_`, as Argo CD does).
    #[must_use]
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(&escape(name)).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The application name without the `<namespace>_` prefix Argo CD adds for applications outside
    /// its own namespace, and that namespace when present.
    #[must_use]
    pub fn application(&self) -> Option<(Option<&str>, &str)> {
        let name = self.app_name.as_deref()?;
        Some(match name.split_once('_') {
            Some((namespace, app)) if !namespace.is_empty() && !app.is_empty() => (Some(namespace), app),
            _ => (None, name),
        })
    }

    /// What the renderer needs: `helm template`'s release, namespace and cluster versions, and the
    /// `recurse` parameter for plain directories.
    #[must_use]
    pub fn render_request(&self) -> RenderRequest {
        RenderRequest {
            release: self.application().map(|(_, name)| name.to_owned()),
            namespace: self.destination_namespace.clone(),
            kube_version: self.kube_version.clone(),
            api_versions: self.api_versions.clone(),
            recurse: self.parameter("recurse").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }
}

/// A parameter name as Argo CD puts it in a variable name: upper case, and every character outside
/// `[A-Z0-9_]` replaced by `_`.
fn escape(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cmp_environment_is_read_and_unrelated_variables_ignored() {
        let env = AppEnv::from_vars([
            ("ARGOCD_APP_NAME", "apps_api"),
            ("ARGOCD_APP_NAMESPACE", "web"),
            ("ARGOCD_APP_PROJECT_NAME", "team-a"),
            ("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/acme/team-a-apps"),
            ("ARGOCD_APP_SOURCE_PATH", "prod/api"),
            ("ARGOCD_APP_REVISION", "0123abcd"),
            ("KUBE_VERSION", "1.33.1"),
            ("KUBE_API_VERSIONS", "apps/v1,apps/v1/Deployment,v1"),
            ("ARGOCD_ENV_POLICY", "production"),
            ("PARAM_POLICY", "ignored: plugin env wins"),
            ("PARAM_MODE", "report"),
            ("HOME", "/home/argocd"),
        ]);
        assert_eq!(env.application(), Some((Some("apps"), "api")));
        assert_eq!(env.destination_namespace.as_deref(), Some("web"));
        assert_eq!(env.project.as_deref(), Some("team-a"));
        assert_eq!(env.api_versions, ["apps/v1", "apps/v1/Deployment", "v1"]);
        assert_eq!(env.parameter("policy"), Some("production"));
        assert_eq!(env.parameter("mode"), Some("report"));
        assert_eq!(env.parameter("tenant"), None);
        assert_eq!(env.render_request().release.as_deref(), Some("api"));
    }

    #[test]
    fn parameter_names_are_escaped_as_argo_cd_escapes_them() {
        let env = AppEnv::from_vars([("PARAM_VALUES_FILES_0", "a.yaml"), ("ARGOCD_ENV_POLICY_SET", "x")]);
        assert_eq!(env.parameter("values-files.0"), Some("a.yaml"));
        assert_eq!(env.parameter("policy-set"), Some("x"));
        // Plugin env names arrive as the Application wrote them.
        let env = AppEnv::from_vars([("ARGOCD_ENV_policy", "strict")]);
        assert_eq!(env.parameter("policy"), Some("strict"));
    }

    #[test]
    fn an_application_in_the_control_plane_namespace_has_no_prefix() {
        let env = AppEnv::from_vars([("ARGOCD_APP_NAME", "api")]);
        assert_eq!(env.application(), Some((None, "api")));
        assert_eq!(AppEnv::default().application(), None);
    }
}
