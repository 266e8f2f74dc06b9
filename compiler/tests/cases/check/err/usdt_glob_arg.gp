// A glob over probes with different argument counts: arg0 is not in `app:start`.
usdt:./app:app:* { @[probe] = count(); @x = arg0; }
