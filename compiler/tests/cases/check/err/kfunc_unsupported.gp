kfunc:vfs_read { @ = count(); }
