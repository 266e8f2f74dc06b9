tracepoint:sched:sched_switch+4 { }
