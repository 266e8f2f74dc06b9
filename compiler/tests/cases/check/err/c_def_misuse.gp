// Defined twice, an enumerator that is not above, an undefined struct by value, a negative
// array size, a typedef of itself.
struct foo { int a; };
struct foo { int b; };
enum e { A = 1, B = A + 1, C = D };
struct bar { struct nope n; char x[-1]; };
typedef loop loop;
BEGIN { exit(); }
