struct list { int v; struct list next; };
struct a { struct b inner; };
struct b { struct a outer[2]; };
BEGIN { exit(); }
