// `print(@m, top, div)`: the `top` largest entries, each value divided by `div`; a stats() map
// prints whole, with bpftrace's warning.
BEGIN { @[1] = 5; @c[1] = count(); @h = hist(3); @t = stats(4); print(@, 1, 2); print(@c, 0, 10); print(@h, 0, 2); print(@t, 1, 2); }
