profile:hz:99 { @s = count(); }
profile:ms:10 { @t = count(); }
profile:us:500 { @u = count(); }
