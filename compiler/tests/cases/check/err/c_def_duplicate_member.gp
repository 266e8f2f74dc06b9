struct foo { int a; char a[4]; union { int b; long a; }; };
BEGIN { exit(); }
