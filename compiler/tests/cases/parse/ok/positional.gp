// args: 42 hello
BEGIN { @pid = $1; @name = str($2); @n = $#; }
