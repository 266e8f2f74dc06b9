//go:build go1.24

package main

import "net/http"

// serveH2C serves HTTP/1 and unencrypted HTTP/2 (h2c, prior knowledge) on addr: Go 1.24+.
func serveH2C(addr string) error {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	s := &http.Server{Addr: addr, Protocols: &p}
	return s.ListenAndServe()
}
