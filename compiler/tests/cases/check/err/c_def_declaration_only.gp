struct foo;
BEGIN { exit(); }
