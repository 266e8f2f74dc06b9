uretprobe:./srv:main.work { @ret = hist(retval); }
