// USDT: a register argument (signed 32-bit), an unsigned 64-bit one, a memory operand and a
// constant; `usdt:BIN:NAME` matches any provider.
usdt:./app:app:request { printf("%d %u\n", arg0, arg1); }
usdt:./app:response { @r[probe] = sum(arg0 + arg1); }
usdt:./app:app:s* { @starts = count(); }
