interval:s:1 { } interval:ms:100 { } interval:us:500 { } interval:250ms { } interval:hz:10 { }
