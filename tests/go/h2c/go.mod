module example.com/h2c

// Debian's x/net sources (golang-golang-x-net-dev) and what they need, as modules: the
// binary's module list names x/net's version, which gprobe's table for stripped builds is
// keyed by.

go 1.19

require golang.org/x/net v0.7.0

require golang.org/x/text v0.7.0 // indirect

replace (
	golang.org/x/net => /usr/share/gocode/src/golang.org/x/net
	golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys
	golang.org/x/term => /usr/share/gocode/src/golang.org/x/term
	golang.org/x/text => /usr/share/gocode/src/golang.org/x/text
)
