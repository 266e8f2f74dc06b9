// A C struct as a value (bpftrace prints one member by member): `print(*$r)`, a member struct,
// and stored in maps, as its bytes.
struct inner { int x; char c; };
struct rec { int a; struct inner in; char name[8]; int nums[3]; unsigned flag : 3; struct rec *next; };
uprobe:/bin/cprog:visit { $r = (struct rec *)arg0; print(*$r); print($r->in); @m[1] = $r->in; @n = *$r->next; }
// Arrays too, and a struct copied into a variable, whose members read from the copy.
uprobe:/bin/cprog:visit { $r = (struct rec *)arg0; print($r->nums); @k[$r->nums] = count(); $c = *$r; printf("%d\n", $c.in.x); }
