// A raw tracepoint's context is its arguments, not the task's registers.
rawtracepoint:sched_switch { @[reg("ip")] = count(); }
