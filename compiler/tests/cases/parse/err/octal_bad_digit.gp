BEGIN { @mode = 0778; }
