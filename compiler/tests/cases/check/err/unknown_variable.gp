BEGIN { $total = 1; @x = $totl; }
