interval:s:1 { $p = (uint32 *)curtask; $q = $p + 8; @d = $q - $p; @v = *($p + 1); }
