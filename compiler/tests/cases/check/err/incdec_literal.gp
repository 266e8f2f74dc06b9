BEGIN { $x = 5++; }
