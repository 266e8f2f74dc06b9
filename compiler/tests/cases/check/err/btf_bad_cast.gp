BEGIN { $t = (struct task_struct *)comm; }
BEGIN { $t = (struct task_struct)curtask; }
