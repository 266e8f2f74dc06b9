BEGIN { @l = lhist(1, 10, 0, 1); }
