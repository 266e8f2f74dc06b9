tracepoint:sched:sched_switch /comm == "go" || comm != "sh"/ { @go = count(); }
