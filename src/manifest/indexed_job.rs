//! What the Job controller adds to each pod of an Indexed Job (pkg/controller/job:
//! `addCompletionIndexEnvVariables`, `addCompletionIndexAnnotation`, the index label, and
//! the hostname `$(job-name)-$(index)`). podcheck runs one pod of a Job: for an Indexed Job
//! it is the pod of index 0, as the controller creates it.

use crate::spec::model;

/// The annotation and label that carry a pod's completion index.
pub const INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";
/// The variable the controller adds to every container: a downward-API reference to the
/// index label (with PodIndexLabel, on by default; to the annotation before it), which the
/// kubelet resolves when it starts the container.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Makes `pod` the Job `job`'s pod of completion index `index`: the variable in every init
/// and app container that does not set it itself (the controller skips those), the label,
/// and the hostname.
pub fn give_index(pod: &mut model::Pod, job: &str, index: u32) {
    let value = index.to_string();
    for c in pod
        .init_containers
        .iter_mut()
        .chain(pod.containers.iter_mut())
    {
        if !c.env.iter().any(|e| e.name == INDEX_ENV) {
            c.env.push(model::EnvVar {
                name: INDEX_ENV.into(),
                value: String::new(),
                manifest_index: None,
                from_object: false,
                // As the controller writes it, so an export carries the same reference.
                field_ref: Some(format!("metadata.labels['{INDEX_KEY}']")),
                resource_field_ref: None,
            });
        }
    }
    pod.labels.insert(INDEX_KEY.into(), value);
    if !job.is_empty() {
        pod.hostname = Some(format!("{job}-{index}"));
    }
}
