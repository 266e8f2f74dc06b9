interval:s { }
