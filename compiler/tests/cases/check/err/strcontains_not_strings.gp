// strcontains compares strings; read a pointer with str() first.
BEGIN { printf("%d\n", strcontains(1, "a")); printf("%d\n", strcontains("a")); }
