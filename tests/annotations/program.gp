// Annotations that parse but do not fit the program's maps.
BEGIN {
    @lat["GET", "/"] = hist(5);
    @calls[1] = count();
    @hosts[1] = count();
    @other = sum(3);
    @name = comm;
}
// @metric @lat http.server.request.duration unit=us keys=http.request.method
// @metric @calls calls unit=ms
// @metric @missing x
// @metric @hosts h keys=server.address:server.port
// @metric @other http.server.request.duration
// @metric @name process.name
