BEGIN { @h = hist(5); @x = @h; }
