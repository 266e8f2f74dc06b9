BEGIN { $x = 1; delete($x); }
