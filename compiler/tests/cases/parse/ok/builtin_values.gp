// target
tracepoint:sched:sched_switch { @v[pid, tid, uid, gid, comm, cpu] = count(); @t = nsecs; @e = elapsed; @r = rand; @c = curtask; @p[probe] = count(); @g = goid; }
