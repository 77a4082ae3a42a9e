//! The storage.conf this tool writes when it moves or switches the store,
//! rendered through the TOML renderer so a path with a quote or a
//! backslash still reads back as that path.

use crate::formats::toml::{render_settings, Value};

/// `[storage]` with the driver, graphroot and runroot (`None`: podman's
/// own, which for rootless follows the runtime directory), and for an overlay
/// through a mount program its `[storage.options.overlay]` table (fsync off:
/// build layers are throwaway). `None` when the text would not read back.
pub fn storage_conf(
    driver: &str,
    graphroot: &str,
    runroot: Option<&str>,
    mount_program: Option<&str>,
) -> Option<String> {
    let s = |v: &str| Value::Str(v.to_string());
    let mut main = vec![
        ("storage.driver", s(driver)),
        ("storage.graphroot", s(graphroot)),
    ];
    if let Some(r) = runroot {
        main.push(("storage.runroot", s(r)));
    }
    let mut body = render_settings(main.iter().map(|(k, v)| (*k, v)))?;
    if let Some(mp) = mount_program {
        let overlay = [
            ("storage.options.overlay.mount_program", s(mp)),
            ("storage.options.overlay.mountopt", s("nodev,fsync=0")),
        ];
        body.push('\n');
        body.push_str(&render_settings(overlay.iter().map(|(k, v)| (*k, v)))?);
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::toml::parse;

    #[test]
    fn plain_paths_render_as_before_and_odd_ones_are_escaped() {
        assert_eq!(
            storage_conf("vfs", "/g", Some("/r"), None).unwrap(),
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"/g\"\nrunroot = \"/r\"\n"
        );
        let with_mp =
            storage_conf("overlay", "/g", Some("/r"), Some("/usr/bin/fuse-overlayfs")).unwrap();
        assert!(with_mp.ends_with(
            "\n\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\nmountopt = \"nodev,fsync=0\"\n"
        ));
        let odd = storage_conf("vfs", "/b\"uild\\s", Some("/r"), None).unwrap();
        let doc = parse(&odd).unwrap();
        assert_eq!(doc.str("storage.graphroot"), Some("/b\"uild\\s"));
    }
}
