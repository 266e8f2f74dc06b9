// args: IN 50 3
// Positional parameters inside attach points and `unroll`, as bpftrace substitutes them.
BEG$1 { $i = 0; unroll($3) { $i++; } @i = $i; }
interval:ms:$2 { exit(); }
