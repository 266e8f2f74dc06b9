BEGIN { @m[1] = 1; clear(@m[1]); }
