BEGIN { @names["a"] = 1; }
interval:s:1 { @names[comm] = 2; }
