// routes-gin serves a gin router with parameterised routes on 127.0.0.1:0 and prints the
// address it listens on (e2e_routes checks http-latency keys them by gin's full path).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, "user %s\n", c.Param("id")) })
	r.POST("/users/:id/orders", func(c *gin.Context) { c.String(http.StatusCreated, "order\n") })
	api := r.Group("/api/v1")
	api.GET("/items/:item/*rest", func(c *gin.Context) { c.String(http.StatusOK, "item\n") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, r)
}
