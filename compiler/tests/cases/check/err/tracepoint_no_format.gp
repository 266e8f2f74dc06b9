tracepoint:sched:sched_switch { @p = args.prev_pid; }
