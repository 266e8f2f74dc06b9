BEGIN { $t = (1, 2); @x = $t.2; }
