BEGIN { @x = count(); }
END { @x = sum(5); }
