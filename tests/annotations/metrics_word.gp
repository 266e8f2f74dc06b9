// Only declared maps exported: the word after @metrics is wrong.
// @metrics all
// @metric @n ops unit={op}
BEGIN { @n = count(); @scratch = 1; }
