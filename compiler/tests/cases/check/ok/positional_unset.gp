// args: one
BEGIN { printf("%s %s\n", str($1), str($2)); }
