BEGIN { $x += 1; }
