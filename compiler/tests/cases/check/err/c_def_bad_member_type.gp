// Base words that make no C type, `void` and an enum that is not defined above.
struct q { unsigned double d; short long s; void v; enum nope e; int ok; };
BEGIN { exit(); }
