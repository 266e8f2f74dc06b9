// override() changes what the kernel returns: it needs --unsafe.
kprobe:__x64_sys_openat { override(-1); }
