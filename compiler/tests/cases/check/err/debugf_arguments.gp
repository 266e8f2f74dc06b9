// Each conversion of debugf needs a value of its kind, one value per conversion; the format
// is a literal.
BEGIN { debugf("%s\n", 1); debugf("%d\n", "s"); debugf("%d\n"); debugf("x\n", 1); debugf(comm); }
