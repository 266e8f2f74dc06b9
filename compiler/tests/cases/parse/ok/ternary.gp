BEGIN { $x = 3; @t = $x > 2 ? 10 : 20; @nested = $x == 1 ? 1 : $x == 2 ? 2 : 3; }
