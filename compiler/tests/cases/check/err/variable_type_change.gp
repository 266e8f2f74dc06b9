BEGIN { $x = 1; $x = comm; }
