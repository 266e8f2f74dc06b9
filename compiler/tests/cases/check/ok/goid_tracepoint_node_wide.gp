tracepoint:sched:sched_switch { @g[goid] = count(); }
