tracepoint:sched:sched_switch { @r = reg("rax"); }
