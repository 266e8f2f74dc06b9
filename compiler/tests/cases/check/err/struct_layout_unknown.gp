BEGIN { $t = (struct task_struct *)curtask; @pid = $t->pid; }
