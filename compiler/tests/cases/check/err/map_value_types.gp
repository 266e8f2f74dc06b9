BEGIN { @v = 1; @v = comm; }
