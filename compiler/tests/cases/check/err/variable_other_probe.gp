BEGIN { $shared = 1; }
END { @x = $shared; }
