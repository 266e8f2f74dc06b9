// strcontains on long strings read with str(): the kernel's verifier accepts the search
// (a 200-byte haystack and a 100-byte needle; verifier_cases loads it).
tracepoint:syscalls:sys_enter_openat {
  printf("%d\n", strcontains(str(args->filename, 200), str(args->filename, 100)));
}
