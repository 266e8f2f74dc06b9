// `kprobe:vfs_*` is a glob over the kernel's traceable functions; `k:`/`kr:` are short forms,
// and `kprobe:MODULE:FUNC` names the module too.
k:vfs_* { @[func] = count(); }
kr:vfs_read { @ret = count(); }
kprobe:ext4:ext4_file_open+0 { @opens = count(); }
