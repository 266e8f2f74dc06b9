// Annotations that do not parse: each is said with its line, pointing at the bad word.
// @metric @lat
// @metric lat http.server.request.duration
// @metric @lat http.server.request.duration unit=furlongs
// @metric @lat http.server.request.duration keys=method,,path
// @metric @lat http.server.request.duration desc=unquoted
// @metric @lat http.server.request.duration colour=red
BEGIN { @lat["GET", "/"] = hist(5); }
