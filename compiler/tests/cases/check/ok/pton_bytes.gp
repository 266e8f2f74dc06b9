// pton turns an address literal into its bytes: u8[4] (IPv4) or u8[16] (IPv6), a value that
// is printed, stored, a map key, compared with ==, indexed, and printed back by ntop.
BEGIN {
  $v4 = pton("127.0.0.1");
  $v6 = pton("fe80::1:2");
  print($v4);
  @keys[pton("10.0.0.1")] = count();
  @value = $v6;
  if ($v4 == pton("127.0.0.1") && pton("::1") != $v6) { printf("%d %d\n", $v4[0], $v6[15]); }
  printf("%s %s %s\n", ntop($v4), ntop(pton("::1")), ntop(10, $v6));
  exit();
}
