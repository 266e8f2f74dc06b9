BEGIN {
  @t = nsec;
  pritnf("x");
  @m[1] = 1;
  @m["a"] = 2;
  $y = $undefined;
}
