//! The image manager (pkg/kubelet/images `EnsureImageExists`): whether a container's image
//! is on the node, the pull it needs under its imagePullPolicy, and the pull back-off.

use std::time::Duration;

use crate::events::EventType;
use crate::spec::model::PullPolicy;

use super::container::StartFailure;
use super::pod_worker::{Cid, Worker};
use super::sync::SYNC_ERROR_RETRY;

/// How the image of a container resolves.
pub(super) enum Image {
    /// No image: the command alone defines the process (a podcheck extension).
    None,
    /// In the image table or overridden by `command`: present on the machine.
    Present(String),
    /// Not on the node and not in the image table: a pull that fails (ErrImagePull), or
    /// under imagePullPolicy Never no pull at all (ErrImageNeverPull).
    Unpullable(String),
}

impl Worker<'_> {
    /// How container `cid`'s image resolves now.
    pub(super) fn resolve_image(&self, cid: Cid) -> Image {
        let spec = &self.rec(cid).spec;
        let pullable = |img: &str| {
            self.cfg
                .images
                .get(img)
                .is_some_and(|e| e.available_at.is_none_or(|t| self.now() >= t.0))
        };
        let never_pull = spec.image.as_deref().is_some_and(|img| {
            spec.image_pull_policy
                .unwrap_or_else(|| default_pull_policy(img))
                == PullPolicy::Never
        });
        match &spec.image {
            None => Image::None,
            // An image that is only in the registry (`available_at`) is never on the node
            // under Never: the kubelet does not pull it, ever.
            Some(img)
                if never_pull
                    && self
                        .cfg
                        .images
                        .get(img)
                        .is_some_and(|e| e.available_at.is_some()) =>
            {
                Image::Unpullable(img.clone())
            }
            // An image that becomes available later cannot be run before that, whatever
            // the container's command says.
            Some(img)
                if self
                    .cfg
                    .images
                    .get(img)
                    .is_some_and(|e| e.available_at.is_some())
                    && !pullable(img) =>
            {
                Image::Unpullable(img.clone())
            }
            Some(img) if spec.command.is_some() || pullable(img) => Image::Present(img.clone()),
            Some(img) => Image::Unpullable(img.clone()),
        }
    }

    /// Pull events for an image that is present locally.
    pub(super) fn pull_events(&mut self, cid: Cid, img: &str) {
        let policy = self
            .rec(cid)
            .spec
            .image_pull_policy
            .unwrap_or_else(|| default_pull_policy(img));
        // An image that only became available during the run was not on the node yet.
        let absent = self
            .cfg
            .images
            .get(img)
            .is_some_and(|e| e.available_at.is_some())
            && self.pulled_images.insert(img.to_owned());
        if policy == PullPolicy::Always || absent {
            self.kubelet_event(
                EventType::Normal,
                "Pulling",
                format!("Pulling image \"{img}\""),
                Some(cid),
            );
            let msg = format!(
                "Successfully pulled image \"{img}\" in 0s (0s including waiting). Image size: 0 bytes."
            );
            self.kubelet_event(EventType::Normal, "Pulled", msg, Some(cid));
        } else {
            let msg = format!("Container image \"{img}\" already present on machine");
            self.kubelet_event(EventType::Normal, "Pulled", msg, Some(cid));
        }
    }

    /// An image that is not on the node under imagePullPolicy Never (EnsureImageExists):
    /// Warning ErrImageNeverPull, then startContainer's Failed "Error: ErrImageNeverPull".
    /// Nothing is pulled and no pull back-off applies: each sync tries again.
    fn never_pull(&mut self, cid: Cid, img: &str) {
        let msg = format!("Container image \"{img}\" is not present with pull policy of Never");
        self.kubelet_event(
            EventType::Warning,
            "ErrImageNeverPull",
            msg.clone(),
            Some(cid),
        );
        self.kubelet_event(
            EventType::Warning,
            "Failed",
            "Error: ErrImageNeverPull",
            Some(cid),
        );
        self.rec_mut(cid).start_failure = Some(StartFailure {
            reason: "ErrImageNeverPull".into(),
            message: msg,
        });
        self.publish_status();
        self.requeue_after(SYNC_ERROR_RETRY);
    }

    /// An image that cannot be pulled: ErrImagePull, then ImagePullBackOff while backing off;
    /// under imagePullPolicy Never, ErrImageNeverPull.
    pub(super) fn pull_failed(&mut self, cid: Cid, img: &str) {
        let policy = self
            .rec(cid)
            .spec
            .image_pull_policy
            .unwrap_or_else(|| default_pull_policy(img));
        if policy == PullPolicy::Never {
            self.never_pull(cid, img);
            return;
        }
        let now = self.now();
        let key = format!("{}_{img}", self.cfg.uid);
        let in_backoff = self.image_backoff.delay(&key).is_some()
            && self
                .image_backoff
                .in_backoff_since(&key, self.image_backoff_last(&key), now);
        if in_backoff {
            let msg = format!("Back-off pulling image \"{img}\"");
            self.kubelet_event(EventType::Normal, "BackOff", msg.clone(), Some(cid));
            self.kubelet_event(
                EventType::Warning,
                "Failed",
                "Error: ImagePullBackOff",
                Some(cid),
            );
            self.rec_mut(cid).start_failure = Some(StartFailure {
                reason: "ImagePullBackOff".into(),
                message: msg,
            });
        } else {
            self.kubelet_event(
                EventType::Normal,
                "Pulling",
                format!("Pulling image \"{img}\""),
                Some(cid),
            );
            let why = match self.cfg.images.get(img).and_then(|e| e.available_at) {
                Some(t) => format!("not available before {t} (images.\"{img}\".available_at)"),
                None => "not in the podcheck image table".to_owned(),
            };
            let err = format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{img}\": image \"{img}\" is {why}"
            );
            self.kubelet_event(
                EventType::Warning,
                "Failed",
                format!("Failed to pull image \"{img}\": {err}"),
                Some(cid),
            );
            self.kubelet_event(
                EventType::Warning,
                "Failed",
                "Error: ErrImagePull",
                Some(cid),
            );
            self.image_backoff.next(&key, now);
            self.image_backoff_updates.insert(key, now);
            self.rec_mut(cid).start_failure = Some(StartFailure {
                reason: "ErrImagePull".into(),
                message: err,
            });
        }
        self.publish_status();
        self.requeue_after(SYNC_ERROR_RETRY);
    }

    fn image_backoff_last(&self, key: &str) -> Duration {
        self.image_backoff_updates
            .get(key)
            .copied()
            .unwrap_or_default()
    }
}

/// `IfNotPresent` for a tagged image, `Always` for `:latest` or no tag.
fn default_pull_policy(image: &str) -> PullPolicy {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return PullPolicy::IfNotPresent;
    }
    match last.split_once(':') {
        Some((_, "latest")) | None => PullPolicy::Always,
        Some(_) => PullPolicy::IfNotPresent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_defaults_follow_the_tag() {
        assert_eq!(default_pull_policy("busybox"), PullPolicy::Always);
        assert_eq!(default_pull_policy("busybox:latest"), PullPolicy::Always);
        assert_eq!(
            default_pull_policy("busybox:1.36"),
            PullPolicy::IfNotPresent
        );
        assert_eq!(
            default_pull_policy("localhost:5000/app"),
            PullPolicy::Always
        );
    }
}
