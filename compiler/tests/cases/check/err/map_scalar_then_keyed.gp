BEGIN { @m = 1; @m[pid] = 2; }
