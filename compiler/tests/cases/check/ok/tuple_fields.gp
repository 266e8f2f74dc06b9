// Tuples read back: a variable from a map element (zeros when missing), `.N` on variables, map
// elements, literals and nested tuples, in printf, map keys and values, and conditions.
BEGIN {
  @m[1] = (2, "b");
  @m[2] = (3, "longer");
  $t = @m[1];
  printf("%d %s\n", $t.0, $t.1);
  @x[$t.1] = count();
  if ($t.0 == 2 && $t.1 == "b") { printf("match\n"); }
  printf("%d %s %d\n", @m[2].0, @m[2].1, (7, "lit").0);
  @v[@m[2].1, @m[1].0] = @m[2];
  $n = ((1, "x"), 5);
  printf("%s %d\n", $n.0.1, $n.1 + $n.0.0);
  $missing = @m[9];
  printf("%d [%s]\n", $missing.0, $missing.1);
  $r = (code = 200, route = "/a");
  printf("%d %s\n", $r.code, $r.route);
  exit();
}
