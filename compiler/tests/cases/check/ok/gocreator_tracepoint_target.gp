// target
// Outside uprobes g comes from the thread's TLS, as for goid.
tracepoint:sched:sched_switch { @[gocreator, goparent] = count(); }
