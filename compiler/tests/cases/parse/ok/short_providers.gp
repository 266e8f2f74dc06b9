u:./srv:main.work { @a = count(); }
ur:./srv:main.work { @b = count(); }
t:syscalls:sys_enter_read { @c = count(); }
i:ms:100 { @d = count(); }
p:hz:49 { @e = count(); }
