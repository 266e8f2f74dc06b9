interval:s:1 { printf("%d\n", @total); }
tracepoint:sched:sched_switch { @total = @total + 1; }
