//go:build !go1.24

package main

import "errors"

// serveH2C needs http.Protocols, which arrived in Go 1.24.
func serveH2C(addr string) error {
	return errors.New("-h2c needs a shop built with Go 1.24 or later")
}
