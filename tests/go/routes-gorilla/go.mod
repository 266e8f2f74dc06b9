module example.com/routes-gorilla

go 1.19

// Debian's gorilla/mux sources (golang-github-gorilla-mux-dev), as a module: the binary's
// module list names its version, which gprobe's layout table for stripped builds is keyed by.
require github.com/gorilla/mux v1.8.0

replace github.com/gorilla/mux => /usr/share/gocode/src/github.com/gorilla/mux
