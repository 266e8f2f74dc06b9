"""An OTLP metrics collector for gprobe's tests, on the official definitions (opentelemetry-proto
from PyPI) and, for gRPC, grpcio with the package's generated service stubs.

Prints its port on the first line, then one JSON line per request received: the time it came
(monotonic seconds), the path, the content type, the headers, and the request decoded. How it answers is set by
the arguments:

  grpc                       a gRPC MetricsService instead of HTTP
  --tls CERT KEY             over TLS
  --answers A,B,...          answers in turn, the last one repeated: an HTTP status, optionally
                             with Retry-After (`429:2`), or for gRPC a status code name
                             (`UNAVAILABLE`, `OK`), optionally with a RetryInfo delay
                             (`RESOURCE_EXHAUSTED:2`)
  --delay SECONDS            answer that much later
  --hang                     take the request and never answer
"""
import argparse
import gzip
import json
import ssl
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

args = argparse.ArgumentParser()
args.add_argument("kind", nargs="?", default="http", choices=["http", "grpc"])
args.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
args.add_argument("--answers", default="200")
args.add_argument("--delay", type=float, default=0)
args.add_argument("--hang", action="store_true")
opts = args.parse_args()

answers = opts.answers.split(",")
lock = threading.Lock()
count = 0


def next_answer():
    global count
    with lock:
        answer = answers[min(count, len(answers) - 1)]
        count += 1
    return answer


def report(path, headers, request):
    line = {"t": time.monotonic(), "path": path, "type": headers.get("content-type"),
            "headers": headers, "request": MessageToDict(request)}
    with lock:
        print(json.dumps(line), flush=True)


def wait():
    if opts.hang:
        while True:
            time.sleep(3600)
    if opts.delay:
        time.sleep(opts.delay)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        report(self.path, {k.lower(): v for k, v in self.headers.items()}, request)
        wait()
        status, _, retry_after = next_answer().partition(":")
        reply = ExportMetricsServiceResponse().SerializeToString() if status == "200" else b""
        try:
            self.send_response(int(status))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the exporter gave up on this request (its timeout, or exit)

    def log_message(self, *args):
        pass


def serve_http():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if opts.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*opts.tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def serve_grpc():
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc

    class Service(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            metadata = {k: v for k, v in context.invocation_metadata()}
            report("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                   metadata, request)
            wait()
            code, _, delay = next_answer().partition(":")
            if code in ("OK", "200"):  # 200: the default answer
                return ExportMetricsServiceResponse()
            message = "test collector says " + code
            if not delay:
                context.abort(getattr(grpc.StatusCode, code), message)
            # The delay as google.rpc.RetryInfo in the status details, as collectors send it.
            from google.protobuf import any_pb2, duration_pb2
            from google.rpc import code_pb2, error_details_pb2, status_pb2
            from grpc_status import rpc_status
            info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(delay)))
            detail = any_pb2.Any()
            detail.Pack(info)
            status = status_pb2.Status(code=code_pb2.Code.Value(code), message=message,
                                       details=[detail])
            context.abort_with_status(rpc_status.to_status(status))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Service(), server)
    if opts.tls:
        cert, key = (open(f, "rb").read() for f in opts.tls)
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


serve_grpc() if opts.kind == "grpc" else serve_http()
