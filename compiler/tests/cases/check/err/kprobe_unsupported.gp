kprobe:do_sys_openat2 { @opens = count(); }
