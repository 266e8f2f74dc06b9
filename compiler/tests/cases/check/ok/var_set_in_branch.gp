BEGIN { if (1) { $x = 1; } else { $x = 2; } @x = $x; }
