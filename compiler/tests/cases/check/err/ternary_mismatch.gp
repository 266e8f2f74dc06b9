BEGIN { @x = pid > 1 ? 1 : "one"; }
