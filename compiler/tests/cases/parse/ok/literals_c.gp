// C-style integer literals bpftrace accepts: octal with a leading 0, and `1e6`.
BEGIN { @mode = 0775; @million = 1e6; @two_k = 2E3; @zero = 0; }
