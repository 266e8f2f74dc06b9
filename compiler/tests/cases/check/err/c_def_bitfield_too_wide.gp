struct foo { int a : 33; char c : 9; int named_zero : 0; double d : 2; };
BEGIN { exit(); }
