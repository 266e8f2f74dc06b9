// gobig links a large part of the standard library so that gprobe's Go binary reader can be
// benchmarked on a binary of realistic size (~40 MB with DWARF). It does nothing useful.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"compress/flate"
	"compress/gzip"
	"compress/lzw"
	"compress/zlib"
	"container/heap"
	"container/list"
	"container/ring"
	"context"
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"debug/plan9obj"
	"encoding/ascii85"
	"encoding/asn1"
	"encoding/base32"
	"encoding/base64"
	"encoding/csv"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"expvar"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/format"
	"go/importer"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"hash/adler32"
	"hash/crc32"
	"hash/crc64"
	"hash/fnv"
	"html/template"
	"image"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"index/suffixarray"
	"log"
	"log/slog"
	"math/big"
	"math/cmplx"
	"math/rand"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/cookiejar"
	"net/http/fcgi"
	"net/http/httptest"
	"net/http/httputil"
	"net/http/pprof"
	"net/mail"
	"net/rpc"
	"net/rpc/jsonrpc"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime/debug"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/scanner"
	"text/tabwriter"
	texttemplate "text/template"
	"time"
	"unicode/utf16"
)

var keep = []any{
	tar.NewReader, zip.NewReader, bufio.NewReader, bzip2.NewReader, flate.NewReader, gzip.NewReader,
	lzw.NewReader, zlib.NewReader, heap.Init, list.New, ring.New, context.Background, aes.NewCipher,
	ecdsa.GenerateKey, ed25519.GenerateKey, elliptic.P256, hmac.New, md5.New, rsa.GenerateKey,
	sha1.New, sha256.New, sha512.New, tls.Dial, x509.ParseCertificate, sql.Open, dwarf.New,
	elf.Open, gosym.NewTable, macho.Open, pe.Open, plan9obj.Open, ascii85.NewEncoder, asn1.Marshal,
	base32.NewEncoder, base64.NewEncoder, csv.NewReader, gob.NewEncoder, hex.EncodeToString,
	json.Marshal, pem.Decode, xml.Marshal, expvar.NewInt, flag.Parse, ast.Print, build.Import,
	doc.New, format.Source, importer.Default, parser.ParseFile, printer.Fprint, token.NewFileSet,
	types.NewPackage, adler32.New, crc32.NewIEEE, crc64.New, fnv.New64, template.New, image.NewRGBA,
	palette.Plan9, draw.Draw, gif.Decode, jpeg.Decode, png.Decode, suffixarray.New, log.New,
	slog.New, big.NewInt, cmplx.Abs, rand.New, mime.TypeByExtension, multipart.NewReader, net.Dial,
	http.ListenAndServe, cgi.Serve, cookiejar.New, fcgi.Serve, httptest.NewServer,
	httputil.DumpRequest, pprof.Index, mail.ParseAddress, rpc.NewServer, jsonrpc.NewClient,
	smtp.Dial, textproto.NewReader, url.Parse, exec.Command, signal.Notify, user.Current,
	filepath.Walk, reflect.TypeOf, regexp.MustCompile, debug.Stack, trace.Start, sort.Ints,
	strconv.Itoa, strings.Split, testing.Benchmark, tabwriter.NewWriter, texttemplate.New,
	time.Now, utf16.Encode, new(scanner.Scanner), new(sync.Mutex),
}

func main() {
	if len(os.Args) > 1 {
		fmt.Println(len(keep))
	}
}
