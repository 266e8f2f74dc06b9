BEGIN { printf("oops); }
