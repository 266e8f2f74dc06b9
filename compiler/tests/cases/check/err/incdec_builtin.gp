BEGIN { $x = comm++; }
