// An index past the end of a tuple held in a map.
BEGIN { @m[1] = (2, "b"); printf("%s\n", @m[1].5); }
