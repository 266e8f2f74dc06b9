// One map, two annotations.
// @metric @n a
// @metric @n b
BEGIN { @n = count(); }
