// A glob that matches no tracepoint name.
rawtracepoint:vfs_* { @ = count(); }
