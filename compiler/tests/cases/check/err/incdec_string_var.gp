BEGIN { $s = "a"; $t = $s--; }
