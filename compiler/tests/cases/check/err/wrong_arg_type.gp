BEGIN { @s = sum(comm); }
