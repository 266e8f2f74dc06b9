// target
// With -p/-c: `usdt:PROVIDER:NAME` and `usdt:NAME` are probes of the target.
usdt:app:request { @[arg0] = count(); }
usdt:start { printf("started\n"); }
