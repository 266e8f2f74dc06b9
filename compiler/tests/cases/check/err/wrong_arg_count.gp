BEGIN { @h = hist(); @s = str(1, 2, 3); exit(1); }
