tracepoint:sched { }
