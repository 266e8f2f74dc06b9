interval:s:0 { }
