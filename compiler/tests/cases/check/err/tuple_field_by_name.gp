// A tuple's elements have numbers, not names.
BEGIN { $t = (1, "a"); printf("%d\n", $t.name); }
