interval:min:1 { }
