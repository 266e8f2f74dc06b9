BEGIN { @x = *comm; }
