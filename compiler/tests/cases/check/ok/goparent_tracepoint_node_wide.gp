tracepoint:sched:sched_switch { @[goparent] = count(); }
