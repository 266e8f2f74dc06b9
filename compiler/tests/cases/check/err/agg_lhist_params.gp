BEGIN { @l = lhist(1, 0, 10, 1); @l = lhist(1, 0, 100, 10); }
