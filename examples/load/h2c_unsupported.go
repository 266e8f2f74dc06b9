//go:build !go1.24

package main

import (
	"errors"
	"net/http"
)

// h2cTransport needs http.Protocols, which arrived in Go 1.24.
func h2cTransport() (http.RoundTripper, error) {
	return nil, errors.New("-h2c needs a load generator built with Go 1.24 or later")
}
