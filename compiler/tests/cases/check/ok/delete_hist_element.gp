// Deleting one key of a histogram map removes all of that key's buckets.
BEGIN {
    @h[1] = hist(5);
    @h[2] = hist(7);
    @l[1, "a"] = lhist(5, 0, 10, 1);
    @l[2, "b"] = lhist(3, 0, 10, 1);
    delete(@h[1]);
    delete(@l[2, "b"]);
    exit();
}
