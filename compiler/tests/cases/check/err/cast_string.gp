BEGIN { @x = (uint32)comm; }
