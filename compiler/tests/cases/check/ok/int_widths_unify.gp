BEGIN { @x = pid; @x = nsecs; $v = 1; $v = cpu; @v = $v; }
