module example.com/routes-chi

go 1.19

// Debian's chi sources (golang-github-go-chi-chi-dev), as a module: the binary's module list
// names chi's version, which gprobe's layout table for stripped builds is keyed by.
require github.com/go-chi/chi/v5 v5.0.7

replace github.com/go-chi/chi/v5 => /usr/share/gocode/src/github.com/go-chi/chi
