// unsafe
// override(rc) makes a kprobed kernel function return rc (bpf_override_return), with --unsafe.
kprobe:__x64_sys_openat { override(-1); }
