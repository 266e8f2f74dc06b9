BEGIN { $i = 0; unroll(4) { $i++; } while ($i < 10) { $i += 1; } @i = $i; }
