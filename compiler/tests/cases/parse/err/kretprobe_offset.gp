kretprobe:vfs_read+8 { @r = count(); }
