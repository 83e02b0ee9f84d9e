//! The timeline picture in a real browser: headless Chromium (Debian's `chromium` package,
//! installed by `ci/install-chromium.sh` when missing and possible) renders the HTML page of
//! a real run; the screenshot must have the picture's size and show the lanes' colours, and
//! the browser's console must show no errors. Skipped, with the reason printed, where no
//! Chromium can be had (not root, no apt-get).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
const CHROMIUM: &str = "/usr/bin/chromium";
/// A generous bound for a browser start and render on a loaded two-core machine.
const RENDER_TIMEOUT: Duration = Duration::from_secs(180);
/// apt-get update and install of chromium took under a minute here; a slow mirror more.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs `cmd` in its own process group, waiting at most `limit`; on timeout the whole
/// group is killed. After the main process ends, anything left in its group (a browser's
/// helper processes) is killed too, so nothing outlives the test.
fn run_bounded(mut cmd: Command, limit: Duration) -> Result<std::process::ExitStatus, String> {
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let pgid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).map_err(|e| e.to_string())?);
    let kill_group = || {
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    };
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                kill_group();
                return Ok(status);
            }
            Ok(None) if Instant::now() >= deadline => {
                kill_group();
                let _ = child.wait();
                return Err(format!("{cmd:?} did not finish within {limit:?}; killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => {
                kill_group();
                return Err(format!("waiting for {cmd:?}: {e}"));
            }
        }
    }
}

/// Chromium's path, after trying the install script when it is missing; Err says why
/// there is none.
fn chromium() -> Result<PathBuf, String> {
    if Path::new(CHROMIUM).exists() {
        return Ok(PathBuf::from(CHROMIUM));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/install-chromium.sh");
    eprintln!("{CHROMIUM} is missing: running {}", script.display());
    let mut cmd = Command::new("sh");
    cmd.arg(&script);
    let status = run_bounded(cmd, INSTALL_TIMEOUT)?;
    if Path::new(CHROMIUM).exists() {
        Ok(PathBuf::from(CHROMIUM))
    } else {
        Err(format!(
            "{CHROMIUM} is missing and {} could not install it ({status}); see its output above",
            script.display()
        ))
    }
}

/// The first `attr="NUMBER"` of the page's `<svg>` element.
fn svg_attr(page: &str, attr: &str) -> f64 {
    let svg = &page[page.find("<svg").expect("an inline svg")..];
    let svg = &svg[..svg.find('>').expect("svg start tag")];
    let key = format!(" {attr}=\"");
    let v = &svg[svg.find(&key).expect("attribute") + key.len()..];
    v[..v.find('"').expect("closing quote")]
        .parse()
        .expect("a number")
}

/// Console messages and page errors in Chromium's log. The page has no scripts, so any
/// console line is a problem: SVG attribute errors (`Error: <path> attribute d: Expected
/// number`) are reported there. The noise of a headless machine (no D-Bus, no GPU) is not
/// matched.
fn page_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Uncaught")
                || l.contains("SyntaxError")
                || l.contains("net::ERR_")
                || l.contains("Refused to")
                || l.contains("This page contains the following errors")
        })
        .collect()
}

#[test]
fn console_lines_count_as_page_errors() {
    let log = "[1:1:1202/004614.858711:WARNING:ui/base/idle/idle_linux.cc:111] None of the known D-Bus ScreenSaver services could be used.\n\
[2:2:1202/004625.366790:INFO:CONSOLE:1] \"Error: <path> attribute d: Expected number, \"M x 1\".\", source: file:///tmp/p.html (1)\n\
1744 bytes written to file /tmp/p.png\n";
    assert_eq!(page_errors(log).len(), 1);
}

#[test]
fn the_timeline_page_renders_in_headless_chromium() {
    let browser = match chromium() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipping the Chromium rendering test: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("crashloop.html");
    let run = Command::new(BIN)
        .args(["run", "-q", "--timeline"])
        .arg(&page)
        .arg("examples/crashloop.toml")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("podcheck runs");
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let html = std::fs::read_to_string(&page).expect("the page was written");

    // The page has an 8 px margin around the picture.
    let (w, h) = (svg_attr(&html, "width"), svg_attr(&html, "height"));
    let (win_w, win_h) = (w as u32 + 16, h.ceil() as u32 + 16);
    let shot = dir.path().join("shot.png");
    let profile = tempfile::tempdir().expect("browser profile dir");
    let log_path = dir.path().join("chromium.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = Command::new(&browser);
    cmd.arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--hide-scrollbars")
        .arg("--force-device-scale-factor=1")
        .arg("--no-first-run")
        .arg("--enable-logging=stderr")
        .arg("--v=0")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={win_w},{win_h}"))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log);
    let status = run_bounded(cmd, RENDER_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{log}");
    assert!(
        log.contains("bytes written to file"),
        "chromium's log was captured:\n{log}"
    );
    let errors = page_errors(&log);
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");

    let file = std::fs::File::open(&shot).unwrap_or_else(|e| panic!("no screenshot: {e}\n{log}"));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    assert_eq!(
        (info.width, info.height),
        (win_w, win_h),
        "the screenshot's size"
    );
    let channels = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let pixel = |x: u32, y: u32| {
        let i = (y as usize * info.width as usize + x as usize) * channels;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    // The lane area: right of the names, below the title and axis, above the legend.
    let mut colours = std::collections::BTreeSet::new();
    for y in (8 + 72)..(win_h.saturating_sub(80)) {
        for x in (8 + 180)..(win_w - 30) {
            colours.insert(pixel(x, y));
        }
    }
    assert!(
        colours.len() >= 8,
        "only {} colours in the lane area",
        colours.len()
    );
    // The crash loop's states, drawn as the legend says: running, terminated with an
    // error, waiting in back-off (or the pod's Pending), and the ready band.
    let near = |want: (u8, u8, u8)| {
        colours.iter().any(|c| {
            c.0.abs_diff(want.0) <= 3 && c.1.abs_diff(want.1) <= 3 && c.2.abs_diff(want.2) <= 3
        })
    };
    for (name, rgb) in [
        ("running green", (0x4c, 0xaf, 0x50)),
        ("terminated red", (0xd9, 0x53, 0x4f)),
        ("ready blue", (0x1e, 0x88, 0xe5)),
        ("waiting amber", (0xf5, 0xd3, 0x6b)),
    ] {
        assert!(near(rgb), "no {name} {rgb:?} in the lane area");
    }
    drop(profile);
}
