interval:s:1 { $p = (uint64 *)curtask; @first = $p[0]; @second = $p[1 + 0]; }
