module example.com/routes-gin

// Debian's gin sources (golang-github-gin-gonic-gin-dev 1.8.1) and the modules they need,
// vendored as symlinks into /usr/share/gocode (vendor/modules.txt names the versions of Debian's
// packages, and marks every module `go 1.18`, the language version gin needs): a module build,
// whose module list names gin's version, which gprobe's layout table for stripped builds is
// keyed by.
go 1.16

require github.com/gin-gonic/gin v1.8.1
