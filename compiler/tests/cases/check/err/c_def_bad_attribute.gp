struct a { int x; } __attribute__((deprecated));
struct b { int x __attribute__((aligned(3))); };
struct c { char c : 3; long z : 64; } __attribute__((packed));
BEGIN { exit(); }
