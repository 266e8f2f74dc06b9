uretprobe:./work:main.work { @r = hist(retval); @rv = sum(retval); }
