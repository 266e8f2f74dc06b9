//go:build go1.24

package main

import "net/http"

// h2cTransport speaks unencrypted HTTP/2 only (prior knowledge, no upgrade): Go 1.24+.
func h2cTransport() (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	t.Protocols = &p
	return t, nil
}
