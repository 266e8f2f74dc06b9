struct foo { uint32 a; u_int b; strct bar *c; };
BEGIN { exit(); }
