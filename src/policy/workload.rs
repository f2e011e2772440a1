//! The typed view of one resource that rules read: its identity, its pod template as Kubernetes types,
//! and its image sites.
//!
//! Owns the conversion from the document tree to `k8s-openapi` types, so a field of the wrong type
//! (`privileged: "yes"`) is refused here with its path and line instead of being misread by a rule.

use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements, SecurityContext};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::document::Rewrite;
use crate::image::Digest;
use crate::manifest::{self, FieldPath, ImageSite, Node, NodeDeserializer, Resource, WorkloadKind};
use crate::registry::ResolveError;
use crate::report::{ResourceId, SourceLocation};

/// A resource whose pod template does not have the shape Kubernetes requires.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {resource}: {path}: {message}")]
pub struct WorkloadError {
    /// Where the offending field is.
    pub location: SourceLocation,
    /// The resource.
    pub resource: ResourceId,
    /// Path of the field, from the resource root.
    pub path: String,
    /// What the Kubernetes schema expected.
    pub message: String,
}

/// A pod template (or a Pod's own metadata and spec) as Kubernetes types.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Path from the resource root to the `PodTemplateSpec` (empty for a Pod).
    pub template_path: FieldPath,
    /// `metadata` of the template.
    pub metadata: ObjectMeta,
    /// `spec` of the template.
    pub spec: PodSpec,
}

/// One container of any of the three lists, uniformly.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    /// `initContainers`, `containers` or `ephemeralContainers`.
    pub list: &'static str,
    /// Index within the list.
    pub index: usize,
    /// `name`.
    pub name: &'a str,
    /// `securityContext`.
    pub security_context: Option<&'a SecurityContext>,
    /// `resources` (never set on ephemeral containers).
    pub resources: Option<&'a ResourceRequirements>,
}

impl Pod {
    /// Path of `spec`, from the resource root.
    #[must_use]
    pub fn spec_path(&self) -> FieldPath {
        self.template_path.key("spec")
    }

    /// Path of a container, from the resource root.
    #[must_use]
    pub fn container_path(&self, c: &ContainerView<'_>) -> FieldPath {
        self.spec_path().key(c.list).index(c.index)
    }

    /// Every container, in Pod Security Admission's order: init, regular, ephemeral.
    #[must_use]
    pub fn containers(&self) -> Vec<ContainerView<'_>> {
        let spec = &self.spec;
        let init = spec.init_containers.iter().flatten().enumerate().map(|(index, c)| ContainerView {
            list: "initContainers",
            index,
            name: &c.name,
            security_context: c.security_context.as_ref(),
            resources: c.resources.as_ref(),
        });
        let regular = spec.containers.iter().enumerate().map(|(index, c)| ContainerView {
            list: "containers",
            index,
            name: &c.name,
            security_context: c.security_context.as_ref(),
            resources: c.resources.as_ref(),
        });
        let ephemeral = spec.ephemeral_containers.iter().flatten().enumerate().map(|(index, c)| ContainerView {
            list: "ephemeralContainers",
            index,
            name: &c.name,
            security_context: c.security_context.as_ref(),
            resources: c.resources.as_ref(),
        });
        init.chain(regular).chain(ephemeral).collect()
    }

    /// `spec.serviceAccountName` (or the deprecated `serviceAccount`), `default` when unset.
    #[must_use]
    pub fn service_account(&self) -> &str {
        self.spec
            .service_account_name
            .as_deref()
            .or(self.spec.service_account.as_deref())
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
    }
}

/// What the registry step learned about one image site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// Not looked up (`--offline`, or an invalid reference).
    Offline,
    /// The registry resolved it to this digest, which is what gets written back and verified.
    Pinned(Digest),
    /// The registry could not resolve it: the stream cannot be pinned (fails closed).
    Failed(ResolveError),
}

/// One resource as the rules see it.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// Identity with the effective namespace.
    pub id: ResourceId,
    /// The resource in the stream.
    pub resource: Resource<'a>,
    /// Its pod template, for workload kinds.
    pub pod: Option<Pod>,
    /// Every image field.
    pub images: Vec<ImageSite>,
    /// What the registry said about each image field (same order as `images`).
    pub pins: Vec<Pin>,
    /// How resolved images are written back.
    pub rewrite: Rewrite,
    /// What signature verification said about each image field (same order as `images`; empty when
    /// not verified).
    pub checks: Vec<Option<crate::verify::ImageCheck>>,
}

#[derive(Deserialize)]
struct Template {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: Option<PodSpec>,
}

impl<'a> Workload<'a> {
    /// Builds the view; fails when the pod template does not match the Kubernetes schema.
    pub fn new(
        resource: Resource<'a>,
        kinds: &[WorkloadKind],
        default_namespace: &str,
    ) -> Result<Self, Box<WorkloadError>> {
        let id = crate::project::effective_id(&resource, default_namespace);
        let images = manifest::image_sites(&resource, kinds);
        let pod = match manifest::pod_template(&resource, kinds) {
            None => None,
            Some((path, node)) => typed_pod(&resource, &id, path, node)?,
        };
        let pins = vec![Pin::Offline; images.len()];
        Ok(Workload { id, resource, pod, images, pins, rewrite: Rewrite::default(), checks: Vec::new() })
    }

    /// Location of a field (path from the resource root).
    #[must_use]
    pub fn location(&self, path: &FieldPath) -> SourceLocation {
        self.resource.location(path)
    }
}

fn typed_pod(
    resource: &Resource<'_>,
    id: &ResourceId,
    path: FieldPath,
    node: &Node,
) -> Result<Option<Pod>, Box<WorkloadError>> {
    let typed = NodeDeserializer::<serde::de::value::Error>::new(node);
    let template: Template = serde_path_to_error::deserialize(typed).map_err(|e| {
        let inner = e.path().to_string();
        let full = if inner == "." { path.clone() } else { path.join(&FieldPath::parse(&inner)) };
        Box::new(WorkloadError {
            location: resource.location(&full),
            resource: id.clone(),
            path: full.to_string(),
            message: e.into_inner().to_string(),
        })
    })?;
    let Some(spec) = template.spec else {
        return Err(Box::new(WorkloadError {
            location: resource.location(&path),
            resource: id.clone(),
            path: path.key("spec").to_string(),
            message: "the pod template has no spec".to_owned(),
        }));
    };
    if spec.containers.is_empty() {
        let containers = path.key("spec").key("containers");
        return Err(Box::new(WorkloadError {
            location: resource.location(&containers),
            resource: id.clone(),
            path: containers.to_string(),
            message: "a pod needs at least one container".to_owned(),
        }));
    }
    Ok(Some(Pod { template_path: path, metadata: template.metadata, spec }))
}
