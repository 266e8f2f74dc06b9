// target
tracepoint:sched:sched_switch { @g[goid] = count(); }
uprobe:main.work { @w[goid] = count(); }
