kprobe:vfs_read { @r = retval; }
