//! The Go packages a binary links, from its function names (`.gopclntab`, so stripped binaries
//! too): what `gprobe -v` lists when the build recorded no module list (a GOPATH build, as
//! Debian's), and how a program's uprobes are known to trace a package the target lacks.

/// The import path of a function's package: `net/http` for `net/http.(*conn).serve`,
/// `github.com/go-chi/chi` for `github.com/go-chi/chi.(*Mux).ServeHTTP`, `main` for
/// `main.work`; `None` for a name without a package (a C symbol).
pub fn package_of(function: &str) -> Option<&str> {
    // Compiler-generated equality and hash functions of a type: `type..eq.net/url.URL` (Go
    // 1.19), `type:.eq.net/url.URL` (1.21+) belong to no package of their own.
    if function.starts_with("type.") || function.starts_with("type:") {
        return None;
    }
    // Type arguments (`F[go.shape.*net/url.URL]`) may hold other packages' paths.
    let name = &function[..function.find('[').unwrap_or(function.len())];
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let dot = name[last_slash..].find('.')?;
    let package = &name[..last_slash + dot];
    (!package.is_empty()).then_some(package)
}

/// Whether an import path is outside the standard library (its first element is a domain;
/// the standard library's own vendored copies live under `vendor/`).
pub fn is_library(package: &str) -> bool {
    package
        .split('/')
        .next()
        .is_some_and(|first| first.contains('.'))
}

/// The repository a library package comes from: `github.com/OWNER/REPO` (and the like for
/// gitlab.com, bitbucket.org, golang.org/x), else the domain and first element
/// (`google.golang.org/grpc`, `go.etcd.io/bbolt`).
pub fn repository_of(package: &str) -> &str {
    let parts = match package.split('/').next() {
        Some("github.com" | "gitlab.com" | "bitbucket.org" | "golang.org") => 3,
        _ => 2,
    };
    match package.match_indices('/').nth(parts - 1) {
        Some((i, _)) => &package[..i],
        None => package,
    }
}

/// The library repositories linked into a binary with these functions, sorted.
pub fn linked_libraries<'a>(functions: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = functions
        .into_iter()
        .filter_map(package_of)
        .filter(|p| is_library(p))
        .map(|p| repository_of(p).to_owned())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_repositories() {
        assert_eq!(package_of("net/http.(*conn).serve"), Some("net/http"));
        assert_eq!(package_of("main.work"), Some("main"));
        assert_eq!(package_of("visit"), None);
        assert_eq!(package_of("type..eq.net/url.URL"), None);
        assert_eq!(package_of("type:.hash.vendor/golang.org/x/net.T"), None);
        assert_eq!(
            package_of("slices.SortFunc[go.shape.*net/url.URL]"),
            Some("slices")
        );
        assert_eq!(
            linked_libraries([
                "github.com/go-chi/chi.(*Mux).ServeHTTP",
                "github.com/go-chi/chi/middleware.Logger",
                "google.golang.org/grpc/internal/transport.(*http2Server).operateHeaders",
                "golang.org/x/net/http2.(*Framer).ReadFrame",
                "vendor/golang.org/x/net/http2/hpack.(*Decoder).Write",
                "net/http.(*conn).serve",
                "go.etcd.io/bbolt.Open",
            ]),
            [
                "github.com/go-chi/chi",
                "go.etcd.io/bbolt",
                "golang.org/x/net",
                "google.golang.org/grpc"
            ]
        );
    }
}
