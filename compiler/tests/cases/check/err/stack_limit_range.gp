profile:hz:99 { @s[ustack(500)] = count(); }
