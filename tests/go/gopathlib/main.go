// gopathlib is built in GOPATH mode against Debian's Go sources (/usr/share/gocode, as Debian
// builds its Go programs) with one library, github.com/go-chi/chi: its build info records no
// modules, so `gprobe -v` names the library from the function table.
package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi"
)

func main() {
	r := chi.NewRouter()
	r.Get("/users/{id}", func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "user %s", chi.URLParam(req, "id"))
	})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/users/7", nil))
	fmt.Println(rec.Body.String())
}
