BEGIN { $x = 3; if ($x == 1) { @one = 1; } else if ($x == 2) { @two = 2; } else { @other = $x; } if $x > 0 { @pos = 1 } }
