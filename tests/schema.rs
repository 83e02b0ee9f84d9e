//! The shipped JSON Schema of the spec format: in step with the Rust types, and every spec
//! in the repository validates against it (while a spec with a typo does not).

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const REGENERATE: &str = "cargo run --bin podcheck -- schema > schema/podcheck-spec.schema.json";

fn shipped() -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join(podcheck::spec::schema::SCHEMA_PATH))
        .unwrap_or_else(|e| {
            panic!("cannot read the shipped schema ({e}); create it with `{REGENERATE}`")
        });
    serde_json::from_str(&text).expect("the shipped schema is JSON")
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

fn as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("readable");
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::to_value(table).expect("TOML as JSON")
}

#[test]
fn the_shipped_schema_is_what_the_types_generate() {
    let generated = podcheck::spec::schema::spec_schema_json();
    let path = Path::new(ROOT).join(podcheck::spec::schema::SCHEMA_PATH);
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} differs from what the spec types generate: regenerate it with `{REGENERATE}`",
        path.display()
    );
}

#[test]
fn every_spec_and_example_validates_against_the_schema() {
    let validator = jsonschema::draft7::new(&shipped()).expect("a valid draft-07 schema");
    let mut files = Vec::new();
    for dir in ["specs", "examples"] {
        toml_files(&Path::new(ROOT).join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 40, "{} specs found", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let instance = as_json(f);
        for e in validator.iter_errors(&instance) {
            failures.push(format!("{}: {} at {}", f.display(), e, e.instance_path()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn typos_and_wrong_types_do_not_validate() {
    let validator = jsonschema::draft7::new(&shipped()).expect("a valid draft-07 schema");
    let bad = [
        "[run]\ntimeot = \"1s\"\n",
        "[run]\ntime_scale = \"fast\"\n",
        "[run]\nisolation = \"full\"\n",
        "[pod]\nrestartPolicy = \"always\"\n",
        "[[pod.containers]]\nname = \"a\"\nreadinessProbe = { httpGet = { port = true } }\n",
        "[expect.final]\nphase = 3\n",
        "[[expect.events]]\nreason = \"Started\"\nmessage = { contain = \"x\" }\n",
    ];
    for src in bad {
        let table: toml::Table = src.parse().expect("TOML");
        let v = serde_json::to_value(table).expect("JSON");
        assert!(!validator.is_valid(&v), "accepted:\n{src}");
    }
    // Kubernetes fields podcheck does not emulate are accepted, as by the loader.
    let ok: toml::Table = "[pod]\nserviceAccountName = \"x\"\n[[pod.containers]]\nname = \"a\"\nsecurityContext = { runAsUser = 1 }\n"
        .parse()
        .expect("TOML");
    let v = serde_json::to_value(ok).expect("JSON");
    assert!(validator.is_valid(&v));
}
