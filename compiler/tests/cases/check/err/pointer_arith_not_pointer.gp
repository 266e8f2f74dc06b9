BEGIN { $t = (struct task_struct *)curtask; @x = $t->se + 1; }
BEGIN { @y = 2 + curtask->thread; }
