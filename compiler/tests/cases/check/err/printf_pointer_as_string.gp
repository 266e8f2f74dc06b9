interval:s:1 { $p = (int8 *)curtask; printf("%s\n", $p + 0 > 0 ? 1 : 2); printf("%r\n", pid); }
