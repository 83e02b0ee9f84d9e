//! `--image NAME=CMD` (and `PODCHECK_IMAGES` lines): an image mapped to a local command,
//! shared by the command line and the test harness.

/// Parses `NAME=CMD`, CMD split like a POSIX shell line (quotes, backslashes); a relative
/// program path (`./target/release/app`) is made absolute here, because containers start
/// in their own working directories.
pub fn parse_image_arg(s: &str) -> Result<(String, Vec<String>), String> {
    let (name, cmd) = s.split_once('=').ok_or_else(|| {
        format!(
            "--image {s:?}: expected NAME=CMD, e.g. --image app:1=\"python3 -m http.server 8080\""
        )
    })?;
    let mut argv = shell_words::split(cmd).map_err(|e| {
        format!("--image {s:?}: the command does not split into words ({e}): close the quote")
    })?;
    if name.is_empty() || argv.is_empty() {
        return Err(format!(
            "--image {s:?}: both the image name and the command must be non-empty"
        ));
    }
    if let Some(prog) = argv.first_mut()
        && prog.contains('/')
        && std::path::Path::new(prog.as_str()).is_relative()
        && let Ok(cwd) = std::env::current_dir()
    {
        *prog = cwd.join(&*prog).display().to_string();
    }
    Ok((name.to_owned(), argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_commands_split_like_a_shell_line() {
        let (name, argv) =
            parse_image_arg("registry/app:1.2=./target/release/app --name 'two words' a\\ b")
                .expect("parses");
        assert_eq!(name, "registry/app:1.2");
        assert!(
            argv[0].ends_with("/target/release/app") && argv[0].starts_with('/'),
            "{argv:?}"
        );
        assert_eq!(&argv[1..], ["--name", "two words", "a b"]);
        let (_, argv) = parse_image_arg("x=sleep 1").expect("parses");
        assert_eq!(
            argv,
            ["sleep", "1"],
            "a bare program name stays for PATH lookup"
        );
        assert!(parse_image_arg("x=sh -c 'echo").is_err_and(|e| e.contains("close the quote")));
        assert!(parse_image_arg("x=").is_err());
        assert!(parse_image_arg("no-equals").is_err());
    }
}
