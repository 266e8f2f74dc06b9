BEGIN { $max = 10; @l = lhist(1, 0, $max, 1); }
