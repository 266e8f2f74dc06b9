BEGIN { @m[1] = 1; }
END { @m["one"] = 2; }
