// Base words that make no C type, `void`, an enum that is not defined above, members too large.
struct q { unsigned double d; short long s; void v; enum nope e; int ok; };
BEGIN { exit(); }
struct huge { char x[1 << 40]; struct q many[1 << 62]; };
