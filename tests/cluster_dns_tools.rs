//! The cluster DNS queried by real DNS tools inside a pod: BIND's `dig` and `nslookup`
//! (Debian's `bind9-dnsutils`, installed by `ci/install-dns-tools.sh` when missing and
//! possible), through the pod's /etc/resolv.conf and straight at 127.96.0.10. Skipped, with
//! the reason printed, where the tools cannot be had (not root, no apt-get) or the machine
//! has no network namespaces. `podcheck-fixture --dns-query` checks the same wire answers in
//! specs/services/service-names-resolve.toml on every machine.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
/// apt-get update and install of bind9-dnsutils takes well under a minute; a slow mirror more.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// dig and nslookup, after trying the install script; Err says why they are missing.
fn dns_tools() -> Result<(), String> {
    if have("dig") && have("nslookup") {
        return Ok(());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/install-dns-tools.sh");
    eprintln!("dig/nslookup are missing: running {}", script.display());
    let mut child = Command::new("sh")
        .arg(&script)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not finish in {INSTALL_TIMEOUT:?}",
                    script.display()
                ));
            }
            Err(e) => return Err(format!("waiting for {}: {e}", script.display())),
        }
    };
    if have("dig") && have("nslookup") {
        Ok(())
    } else {
        Err(format!(
            "dig/nslookup are missing and {} could not install them ({status})",
            script.display()
        ))
    }
}

const SPEC: &str = r#"
name = "dig and nslookup against the cluster DNS"

[run]
requires = ["namespaces"]
timeout = "60s"

[services.mydb]
ports = [{ name = "pg", port = 5432 }]

[pod]
restartPolicy = "Never"

[[pod.containers]]
name = "app"
command = ["sh", "-c", """
echo "short: $(dig +short @127.96.0.10 mydb.default.svc.cluster.local A)"
echo "search: $(dig +short +search mydb A)"
echo "srv: $(dig +short @127.96.0.10 _pg._tcp.mydb.default.svc.cluster.local SRV)"
dig @127.96.0.10 nosuch.default.svc.cluster.local A | grep -o 'status: [A-Z]*' | sed 's/^/nosuch /'
dig +tcp @127.96.0.10 mydb.default.svc.cluster.local A | grep -o 'flags: [a-z ]*;' | sed 's/^/tcp /'
nslookup mydb | sed 's/^/nslookup: /'
"""]

[expect.final]
phase = "Succeeded"

[[expect.logs]]
container = "app"
regex = '^short: 127\.96\.1\.1$'

[[expect.logs]]
container = "app"
regex = '^search: 127\.96\.1\.1$'

[[expect.logs]]
container = "app"
regex = '^srv: 0 100 5432 mydb\.default\.svc\.cluster\.local\.$'

[[expect.logs]]
container = "app"
regex = '^nosuch status: NXDOMAIN$'

[[expect.logs]]
container = "app"
regex = '^tcp flags: qr aa rd;$'

[[expect.logs]]
container = "app"
regex = '^nslookup: Address: 127\.96\.1\.1$'
"#;

#[test]
fn dig_and_nslookup_get_the_cluster_dns_answers_inside_a_pod() {
    if let Err(why) = dns_tools() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = dir.path().join("dig.toml");
    std::fs::write(&spec, SPEC).expect("write spec");
    let out = Command::new(BIN)
        .arg("run")
        .arg(&spec)
        .output()
        .expect("podcheck runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(3) {
        eprintln!("skipped: this machine cannot run pods in their own namespaces:\n{text}");
        return;
    }
    assert!(out.status.success(), "the dig spec failed:\n{text}");
}
