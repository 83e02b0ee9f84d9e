//! Cases of the apps/v1 and ReplicationController rules, after the Kubernetes validation tests
//! (pkg/apis/apps/validation/validation_test.go, pkg/apis/core/validation/validation_test.go).

use std::path::Path;

use super::super::workload_test_util::{clean, errs, has};
use crate::manifest::parse_source;

/// An apps/v1 object of `kind` with `spec` lines (indented by 2) before its template,
/// `labels` on the template and `pod` lines in the pod spec (indented by 6).
fn apps(kind: &str, spec: &str, labels: &str, pod: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: web}}\nspec:\n{spec}  template:\n    metadata:\n      labels: {labels}\n    spec:\n{pod}      containers:\n      - {{name: web, image: nginx}}\n"
    )
}

const SEL: &str = "  selector:\n    matchLabels: {app: web}\n";
const LABELS: &str = "{app: web}";

#[test]
fn valid_apps_workloads_pass() {
    for kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"] {
        clean(&apps(kind, SEL, LABELS, ""));
        clean(&apps(
            kind,
            "  selector:\n    matchExpressions:\n    - {key: app, operator: In, values: [web, api]}\n    - {key: canary, operator: DoesNotExist}\n",
            LABELS,
            "      restartPolicy: Always\n",
        ));
    }
    clean(&apps(
        "Deployment",
        &format!(
            "{SEL}  replicas: 0\n  minReadySeconds: 10\n  progressDeadlineSeconds: 11\n  revisionHistoryLimit: 0\n  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 0, maxUnavailable: 100%}}}}\n"
        ),
        LABELS,
        "",
    ));
    clean(&apps(
        "Deployment",
        &format!("{SEL}  strategy: {{type: Recreate}}\n"),
        LABELS,
        "",
    ));
}

#[test]
fn a_missing_selector_is_required_and_matches_nothing() {
    for kind in ["Deployment", "StatefulSet", "ReplicaSet"] {
        let src = apps(kind, "", LABELS, "");
        has(&src, "spec.selector", "Required value");
        has(
            &src,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
    }
    // A DaemonSet's is not "required": it only selects nothing.
    let ds = errs(&apps("DaemonSet", "", LABELS, ""));
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(ds[0].0, "spec.template.metadata.labels");
}

#[test]
fn empty_and_invalid_selectors() {
    for (kind, what) in [
        ("Deployment", "deployment"),
        ("ReplicaSet", "deployment"),
        ("StatefulSet", "statefulset"),
        ("DaemonSet", "daemonset"),
    ] {
        let src = apps(kind, "  selector: {}\n", LABELS, "");
        let e = errs(&src);
        assert_eq!(e.len(), 1, "{kind}: {e:#?}");
        assert_eq!(
            e[0].1,
            format!(
                "Invalid value: v1.LabelSelector{{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}: empty selector is invalid for {what}"
            )
        );
    }
    let bad = |expr: &str| {
        apps(
            "Deployment",
            &format!("  selector:\n    matchExpressions:\n    - {expr}\n"),
            LABELS,
            "",
        )
    };
    has(
        &bad("{key: app, operator: In}"),
        "spec.selector.matchExpressions[0].values",
        "Required value: must be specified when `operator` is 'In' or 'NotIn'",
    );
    has(
        &bad("{key: app, operator: Exists, values: [web]}"),
        "spec.selector.matchExpressions[0].values",
        "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    );
    has(
        &bad("{key: app, operator: exists}"),
        "spec.selector.matchExpressions[0].operator",
        "Invalid value: \"exists\": not a valid selector operator",
    );
    let src = bad("{key: '-app', operator: Exists}");
    assert!(
        errs(&src)
            .iter()
            .any(|(p, m, _)| p == "spec.selector" && m.ends_with(": invalid label selector")),
        "{:#?}",
        errs(&src)
    );
    has(
        &apps(
            "Deployment",
            "  selector:\n    matchLabels: {app: 'a b'}\n",
            "{app: 'a b'}",
            "",
        ),
        "spec.selector.matchLabels",
        "Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
    has(
        &apps("Deployment", SEL, "{app: api}", ""),
        "spec.template.metadata.labels",
        "Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`",
    );
}

#[test]
fn controllers_of_long_running_pods_want_restart_policy_always() {
    for (kind, rule_kind) in [
        ("Deployment", "ReplicaSet"),
        ("ReplicaSet", "ReplicaSet"),
        ("StatefulSet", "StatefulSet"),
        ("DaemonSet", "DaemonSet"),
    ] {
        for rp in ["Never", "OnFailure"] {
            let src = apps(kind, SEL, LABELS, &format!("      restartPolicy: {rp}\n"));
            has(
                &src,
                "spec.template.spec.restartPolicy",
                &format!("Unsupported value: \"{rp}\": supported values: \"Always\""),
            );
        }
        has(
            &apps(kind, SEL, LABELS, "      activeDeadlineSeconds: 30\n"),
            "spec.template.spec.activeDeadlineSeconds",
            &format!("Forbidden: activeDeadlineSeconds in {rule_kind} is not Supported"),
        );
    }
    // An unknown value is the pod validation's to report, once.
    let src = apps("Deployment", SEL, LABELS, "      restartPolicy: always\n");
    assert!(errs(&src).is_empty(), "{:#?}", errs(&src));
}

#[test]
fn deployment_counts_and_strategy() {
    let d = |extra: &str| apps("Deployment", &format!("{SEL}{extra}"), LABELS, "");
    let neg = "must be greater than or equal to 0";
    has(
        &d("  replicas: -1\n"),
        "spec.replicas",
        &format!("Invalid value: -1: {neg}"),
    );
    has(
        &d("  minReadySeconds: -1\n"),
        "spec.minReadySeconds",
        &format!("Invalid value: -1: {neg}"),
    );
    has(
        &d("  revisionHistoryLimit: -2\n"),
        "spec.revisionHistoryLimit",
        &format!("Invalid value: -2: {neg}"),
    );
    has(
        &d("  minReadySeconds: 5\n  progressDeadlineSeconds: 5\n"),
        "spec.progressDeadlineSeconds",
        "Invalid value: 5: must be greater than minReadySeconds",
    );
    // Unset, the deadline is 600 and still must exceed minReadySeconds.
    has(
        &d("  minReadySeconds: 600\n"),
        "spec.progressDeadlineSeconds",
        "Invalid value: 600: must be greater than minReadySeconds",
    );
    has(
        &d("  strategy: {type: Blue}\n"),
        "spec.strategy",
        "Unsupported value: apps.DeploymentStrategy{Type:\"Blue\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"",
    );
    has(
        &d("  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n"),
        "spec.strategy.rollingUpdate",
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    );
    has(
        &d("  strategy: {rollingUpdate: {maxSurge: '20'}}\n"),
        "spec.strategy.rollingUpdate.maxSurge",
        "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"20\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    has(
        &d("  strategy: {rollingUpdate: {maxUnavailable: 101%}}\n"),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"101%\"}: must not be greater than 100%",
    );
    has(
        &d("  strategy: {rollingUpdate: {maxSurge: -1}}\n"),
        "spec.strategy.rollingUpdate.maxSurge",
        &format!("Invalid value: -1: {neg}"),
    );
    has(
        &d("  strategy: {rollingUpdate: {maxSurge: 0%, maxUnavailable: 0}}\n"),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
    );
}

#[test]
fn statefulset_rules() {
    let s = |extra: &str| apps("StatefulSet", &format!("{SEL}{extra}"), LABELS, "");
    clean(&s(
        "  serviceName: web-headless\n  podManagementPolicy: Parallel\n  updateStrategy: {type: OnDelete}\n  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Retain}\n",
    ));
    has(
        &s("  podManagementPolicy: parallel\n"),
        "spec.podManagementPolicy",
        "Invalid value: \"parallel\": must be 'OrderedReady' or 'Parallel'",
    );
    has(
        &s("  updateStrategy: {type: OnDelete, rollingUpdate: {partition: 1}}\n"),
        "spec.updateStrategy.rollingUpdate",
        "Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'",
    );
    has(
        &s("  updateStrategy: {type: Rolling}\n"),
        "spec.updateStrategy",
        "Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Rolling\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'",
    );
    has(
        &s("  updateStrategy: {rollingUpdate: {partition: -1}}\n"),
        "spec.updateStrategy.rollingUpdate.partition",
        "Invalid value: -1: must be greater than or equal to 0",
    );
    has(
        &s("  updateStrategy: {rollingUpdate: {maxUnavailable: 0}}\n"),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0",
    );
    has(
        &s("  persistentVolumeClaimRetentionPolicy: {whenDeleted: Keep}\n"),
        "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
        "Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\"",
    );
    has(
        &s("  ordinals: {start: -1}\n"),
        "spec.ordinals.start",
        "Invalid value: -1: must be greater than or equal to 0",
    );
    has(
        &s("").replace("name: web}", "name: web.v1}"),
        "metadata.name",
        "Invalid value: \"web.v1\": must not contain dots",
    );
    has(
        &s("  serviceName: web.headless\n"),
        "spec.serviceName",
        "Invalid value: \"web.headless\": must not contain dots",
    );
}

#[test]
fn daemonset_update_strategy() {
    let d = |extra: &str| apps("DaemonSet", &format!("{SEL}{extra}"), LABELS, "");
    clean(&d("  updateStrategy: {type: OnDelete}\n"));
    clean(&d(
        "  updateStrategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n",
    ));
    has(
        &d("  updateStrategy: {rollingUpdate: {maxSurge: 1}}\n"),
        "spec.updateStrategy.rollingUpdate.maxSurge",
        "Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero",
    );
    has(
        &d("  updateStrategy: {rollingUpdate: {maxUnavailable: 0%}}\n"),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "Required value: cannot be 0 when maxSurge is 0",
    );
    has(
        &d("  updateStrategy: {type: Never}\n"),
        "spec.updateStrategy",
        "Unsupported value: apps.DaemonSetUpdateStrategy{Type:\"Never\", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: \"RollingUpdate\", \"OnDelete\"",
    );
}

#[test]
fn replication_controllers_default_their_selector() {
    let rc = |selector: &str, labels: &str| {
        format!(
            "apiVersion: v1\nkind: ReplicationController\nmetadata: {{name: web}}\nspec:\n{selector}  template:\n    metadata:\n      labels: {labels}\n    spec:\n      containers:\n      - {{name: web, image: nginx}}\n"
        )
    };
    clean(&rc("", LABELS));
    clean(&rc("  selector: {app: web}\n", LABELS));
    has(&rc("", "{}"), "spec.selector", "Required value");
    has(
        &rc("  selector: {app: api}\n", LABELS),
        "spec.template.metadata.labels",
        "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
    );
}

#[test]
fn template_labels_are_label_keys_and_values() {
    has(
        &apps(
            "Deployment",
            "  selector:\n    matchLabels: {app: web}\n",
            "{app: web, 'bad key': x}",
            "",
        ),
        "spec.template.metadata.labels",
        "Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
}

#[test]
fn findings_sit_at_the_field() {
    let src = apps("Deployment", &format!("{SEL}  replicas: -3\n"), LABELS, "");
    let file = parse_source(Path::new("t.yaml"), src.clone());
    let d = file
        .diagnostics
        .iter()
        .find(|d| d.rule.is_some())
        .expect("finding");
    let (line, col) = crate::diag::line_col(&src, d.span.clone().expect("span").start);
    assert_eq!((line, col), (7, 3), "{d:?}");
    assert_eq!(d.rule, Some(super::RANGE));
    assert!(d.help.is_some());
}

#[test]
fn objects_in_a_list_keep_their_item_path() {
    let item = apps("Deployment", "", LABELS, "")
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect::<String>();
    let src = format!("apiVersion: v1\nkind: List\nitems:\n-{}", &item[1..]);
    has(&src, "items[0].spec.selector", "Required value");
}

#[test]
fn an_empty_string_where_go_has_a_plain_string_is_the_default() {
    // Go cannot tell "" from unset in these fields, so its defaulting makes "" the default
    // (a Helm chart rendering `type: {{ .Values.strategy }}` with nothing set).
    let with = |lines: &str| format!("{SEL}{lines}");
    clean(&apps(
        "Deployment",
        &with("  strategy: {type: \"\"}\n"),
        LABELS,
        "",
    ));
    clean(&apps(
        "StatefulSet",
        &with("  serviceName: web\n  podManagementPolicy: \"\"\n  updateStrategy: {type: \"\"}\n"),
        LABELS,
        "",
    ));
    clean(&apps(
        "DaemonSet",
        &with("  updateStrategy: {type: \"\"}\n"),
        LABELS,
        "",
    ));
}
