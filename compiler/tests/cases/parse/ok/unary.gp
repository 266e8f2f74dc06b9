BEGIN { $a = 5; @n = -$a; @b = !$a; @c = ~$a; @d = - -$a; @neg = -5; }
