struct foo { int a; char a[4]; union { int b; long a; }; };
BEGIN { exit(); }
struct bar { union { int x; struct { long x; int y; }; }; int y; };
