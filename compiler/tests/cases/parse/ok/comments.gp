// a line comment
BEGIN /* inline */ {
  /* block
     comment */ @x = 1; // trailing
}
