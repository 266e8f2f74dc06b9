// pton parses its address when the program is compiled: it needs a literal.
BEGIN { $s = "1.2.3.4"; print(pton($s)); print(pton(1)); }
