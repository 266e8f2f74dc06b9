florp:x { }
