BEGIN { if (comm) { @x = 1; } }
