kr:vfs_read { @r = count(); }
