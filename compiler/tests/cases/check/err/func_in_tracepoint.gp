tracepoint:sched:sched_switch { @f[func] = count(); }
