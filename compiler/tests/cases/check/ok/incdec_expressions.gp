// `++`/`--` as values, pre and post, on variables and map elements: pre yields the new value,
// post the old (as in C and bpftrace); an absent map key counts from 0.
BEGIN {
  $i = 5;
  printf("%d %d %d\n", $i++, ++$i, $i);
  @x[1] = ++$i;
  $y = @x[1]--;
  @z = --@c[2] + @c[2]++;
  @w = -$i-- * 2;
}
