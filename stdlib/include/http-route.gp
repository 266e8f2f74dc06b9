// http-route: the route pattern a Go HTTP server's router matched, as `@route[goid]`, for the
// HTTP recipes (`// @include http-route` appends this file after the recipe's last line, so the
// recipe's own lines keep their numbers). The recipe keeps `@req[goid]` (its `.0` a request's
// start time) from `serverHandler.ServeHTTP` until the request ends, reads `@route[goid]` there
// (empty: no router told) and deletes it; this file reads the routers' own state when the
// response header is written and cleans up its own maps.

// Routers, each read only where the target links it (the `__GO_PKG_...__` macros gprobe defines
// for the target's packages) and gprobe knows its struct layouts: from DWARF (`__GO_DWARF__`),
// or, stripped, from its tables for the library's version in the module list (`__GO_TABLE_chi__`,
// `__GO_TABLE_gin__`, ...). Else requests are keyed by the guarded path.
// Each hands over a pointer at a call of its own that the request passes through, and the
// pattern is read from it when the response header is written, while the handler still owns it
// (gin and chi put their contexts back in a sync.Pool before the request ends).
#if (defined(__GO_DWARF__) && defined(__GO_PKG_github_com_gin_gonic_gin__)) || defined(__GO_TABLE_gin__)
#define GIN_ROUTE 1
// gin: the engine's Context for this request; `fullPath` (`c.FullPath()`) is set once the tree
// has matched, before the handlers run.
uprobe:"github.com/gin-gonic/gin.(*Engine).handleHTTPRequest"
{
    @gin[goid] = args.c;
}
#endif

#if (defined(__GO_DWARF__) && (defined(__GO_PKG_github_com_go_chi_chi__) || defined(__GO_PKG_github_com_go_chi_chi_v5__))) || defined(__GO_TABLE_chi__)
#define CHI_ROUTE 1
#ifdef __GO_PKG_github_com_go_chi_chi_v5__
#define CHI_CONTEXT(p) ((struct "github.com/go-chi/chi/v5.Context" *)(p))
#else
#define CHI_CONTEXT(p) ((struct "github.com/go-chi/chi.Context" *)(p))
#endif
// chi: the routing context each router level's tree search fills (`RoutePatterns`, one pattern
// per level: `chi.RouteContext(ctx).RoutePattern()` joins them).
uprobe:github.com/go-chi/chi*.(*node).FindRoute
{
    @chi[goid] = args.rctx;
}
#endif

#if (defined(__GO_DWARF__) && defined(__GO_PKG_github_com_gorilla_mux__)) || defined(__GO_TABLE_gorilla__)
#define GORILLA_ROUTE 1
// gorilla/mux: the route that matched, as the router attaches it to the request's context
// (`mux.CurrentRoute`); its path template (`GetPathTemplate`) includes a subrouter's prefix.
uprobe:"github.com/gorilla/mux.requestWithRoute"
{
    @gorilla[goid] = args.route;
}
#endif

#if defined(GIN_ROUTE) || defined(CHI_ROUTE) || defined(GORILLA_ROUTE) || __GO_VERSION__ >= 123
// HTTP/1's route, when the handler writes the header (explicitly, or by its first Write; also
// when it wrote nothing, from finishRequest's implicit 200, then for ServeMux only). Only where
// a router can tell: other servers pay no probe hit more than before.
uprobe:"net/http.(*response).WriteHeader"
/@req[goid].0/
{
#ifdef GIN_ROUTE
    if (@gin[goid]) {
        @route[goid] = str(((struct "github.com/gin-gonic/gin.Context" *)@gin[goid])->fullPath, 128);
    }
#endif
#ifdef GORILLA_ROUTE
    if (@gorilla[goid]) {
        $t = ((struct "github.com/gorilla/mux.Route" *)@gorilla[goid])->routeConf.regexp.path;
        if ($t) {
            @route[goid] = str($t->template, 128);
        }
    }
#endif
#ifdef CHI_ROUTE
    if (@chi[goid]) {
        $c = CHI_CONTEXT(@chi[goid]);
        // The pattern as chi's `RoutePattern()` makes it: one level's as it is; a sub-router's
        // two levels joined, the mount's `/*` dropped (`/api/*` + `/items/{item}` is
        // `/api/items/{item}`). Deeper nesting is keyed by the guarded path.
        if ($c->RoutePatterns.len == 1) {
            @route[goid] = str($c->routePattern, 128);
        } else if ($c->RoutePatterns.len == 2) {
            $levels = $c->RoutePatterns.ptr;
            $keep = $levels[0].len;
            if ($keep >= 2 && $levels[0].ptr[$keep - 1] == 42 && $levels[0].ptr[$keep - 2] == 47) {
                $keep = $keep - 2;
            }
            @route[goid] = strcat(str($levels[0], $keep), str($levels[1], 64));
        }
    }
#endif
#if __GO_VERSION__ >= 123
    // net/http's ServeMux (Go 1.23+): the pattern that matched, set on the request before the
    // handler runs ("GET /users/{id}"; empty when no pattern matched, or another router serves).
    if (args.w.req.Pattern.len > 0 && @route[goid] == "") {
        @route[goid] = str(args.w.req.Pattern, 128);
    }
#endif
    // Read once per request: the next request on this goroutine hands over its own.
#ifdef GIN_ROUTE
    delete(@gin[goid]);
#endif
#ifdef CHI_ROUTE
    delete(@chi[goid]);
#endif
#ifdef GORILLA_ROUTE
    delete(@gorilla[goid]);
#endif
}
#endif

#if defined(GIN_ROUTE) || defined(CHI_ROUTE) || defined(GORILLA_ROUTE)
// HTTP/2 streams do not pass `(*response).WriteHeader`: what a router handed over for a stream
// ends with the stream's handler (`runHandler` of net/http's bundled HTTP/2, or of x/net's).
uretprobe:net/http*serverConn*runHandler
#ifdef XNET_H2C
, uretprobe:"golang.org/x/net/http2.(*serverConn).runHandler"
#endif
{
#ifdef GIN_ROUTE
    delete(@gin[goid]);
#endif
#ifdef CHI_ROUTE
    delete(@chi[goid]);
#endif
#ifdef GORILLA_ROUTE
    delete(@gorilla[goid]);
#endif
}

END
{
#ifdef GIN_ROUTE
    clear(@gin);
#endif
#ifdef CHI_ROUTE
    clear(@chi);
#endif
#ifdef GORILLA_ROUTE
    clear(@gorilla);
#endif
}
#endif
