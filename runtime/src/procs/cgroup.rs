//! Which container a process runs in, from its cgroup path. Every runtime names the container's
//! cgroup after the 64-hex container id, each with its own decoration:
//!
//! ```text
//! docker (systemd)    /system.slice/docker-<id>.scope
//! docker (cgroupfs)   /docker/<id>
//! containerd (k8s)    /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
//! cri-o               /kubepods.slice/.../crio-<id>.scope
//! podman              /machine.slice/libpod-<id>.scope
//! kubepods (cgroupfs) /kubepods/besteffort/pod<uid>/<id>
//! ```

/// The path of the cgroup v2 line (`0::/path`), else of the first line, of /proc/PID/cgroup.
pub fn unified_path(text: &str) -> &str {
    fn path(line: &str) -> Option<&str> {
        line.splitn(3, ':').nth(2).map(str::trim)
    }
    text.lines()
        .find(|l| l.starts_with("0::"))
        .and_then(path)
        .or_else(|| text.lines().find_map(path))
        .unwrap_or("")
}

/// The container id in a cgroup path (the innermost one that names a container), if any.
pub fn container_id(cgroup_path: &str) -> Option<String> {
    cgroup_path
        .split('/')
        .rev()
        .find_map(component_id)
        .map(str::to_string)
}

/// Decorations runtimes put around the id; `crio-conmon-<id>` is the monitor, not the container.
const PREFIXES: &[&str] = &["docker-", "cri-containerd-", "crio-", "libpod-"];

fn component_id(component: &str) -> Option<&str> {
    let bare = component.strip_suffix(".scope").unwrap_or(component);
    let id = PREFIXES
        .iter()
        .find_map(|p| bare.strip_prefix(p))
        .unwrap_or(bare);
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c2a9be0d3c5f67a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b";

    #[test]
    fn container_ids_of_each_runtime() {
        let lines = [
            format!("0::/system.slice/docker-{ID}.scope"),
            format!("12:pids:/docker/{ID}"),
            format!(
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-{ID}.scope"
            ),
            format!(
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podab_cd.slice/crio-{ID}.scope"
            ),
            format!("0::/machine.slice/libpod-{ID}.scope/container"),
            format!("11:memory:/kubepods/besteffort/pod0f1e2d3c-aaaa-bbbb-cccc-0123456789ab/{ID}"),
        ];
        for line in &lines {
            assert_eq!(
                container_id(unified_path(line)).as_deref(),
                Some(ID),
                "{line}"
            );
        }
        for host in [
            "0::/user.slice/user-0.slice/session-1.scope",
            "0::/init.scope",
            "0::/",
            "",
            "0::/system.slice/docker-123.scope",
            &format!("0::/machine.slice/crio-conmon-{ID}.scope"),
        ] {
            assert_eq!(container_id(unified_path(host)), None, "{host}");
        }
    }

    #[test]
    fn unified_path_prefers_v2() {
        let text = "12:pids:/docker/x\n0::/system.slice/foo.service\n";
        assert_eq!(unified_path(text), "/system.slice/foo.service");
        assert_eq!(unified_path("5:cpu,cpuacct:/a/b\n"), "/a/b");
    }
}
