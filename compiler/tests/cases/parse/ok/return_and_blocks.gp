BEGIN { { $x = 1; { @y = $x; } } if ($x) { return; } @z = 2; }
