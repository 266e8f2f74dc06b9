BEGIN { $f = "%d"; printf($f, 1); }
