BEGIN { printf("hello\n"); }
END { exit(); }
begin { } end { }
