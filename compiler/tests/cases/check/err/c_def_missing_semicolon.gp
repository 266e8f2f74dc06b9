struct foo {
  int a
}
BEGIN { exit(); }
