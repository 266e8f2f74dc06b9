// args: 123
BEGIN { printf("%s %d\n", str($1), $1); }
