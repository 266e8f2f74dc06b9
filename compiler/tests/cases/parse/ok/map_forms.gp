BEGIN { @[1, "a"] = 2; @scalar = 3; @keyed[1] = 4; @tuple_key[(1, 2)] = 5; }
END { print(@); print(@scalar); clear(@keyed); zero(@tuple_key); delete(@[1, "a"]); }
