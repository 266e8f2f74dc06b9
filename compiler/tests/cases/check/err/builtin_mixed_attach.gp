BEGIN, uretprobe:./srv:main.work { @r = retval; }
