BEGIN { $x = sum(5) + 1; }
