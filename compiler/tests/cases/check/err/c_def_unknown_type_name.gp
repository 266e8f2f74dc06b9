struct foo { int a; uint23_t b; sizet c; };
BEGIN { exit(); }
