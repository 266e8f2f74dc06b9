interval:ms:10 { @c = count(); }
interval:s:1 /@c > 100/ { printf("%d\n", @c); }
