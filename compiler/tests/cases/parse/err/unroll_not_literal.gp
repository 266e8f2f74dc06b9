BEGIN { $n = 3; unroll($n) { } }
