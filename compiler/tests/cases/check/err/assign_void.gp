BEGIN { $x = printf("hi"); }
