BEGIN { $t = (1, "two", 3); @first = $t.0; @second = $t.1; $r = (pid=pid, name=comm); @pid = $r.pid; emit((a=1, b="x")); }
