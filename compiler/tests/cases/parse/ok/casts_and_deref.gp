interval:s:1 { $p = (uint64 *)curtask; $v = *$p; $b = (uint8)$v; $c = (int32)$v; $w = (u16)1; $q = (int8 **)curtask; $r = *$q; }
