BEGIN { @x = (struct task_struct)curtask; }
