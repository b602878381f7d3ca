"""HTTP: the origins behind CloudFront and the ALB (the admin app's S3 bucket, API Gateway's ``prod`` stage, ntfy),
plain HTTP/1.1, one request per connection."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, cast

from .common import IDLE_TIMEOUT, Conn
from .listener import Listener


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class HttpBackend(Listener):
    """Plain HTTP/1.1, one request per connection: the admin app's S3 origin, the API, or ntfy.

    Knobs: ``status`` and/or ``body`` override every answer (status alone gets that app's error body; body alone
    comes with 200); ``redirect_loop`` answers 301 to the very URL asked for.
    """

    client_speaks_first = True
    SERVER: ClassVar[dict[str, str]] = {"admin": "AmazonS3", "api": "Server", "ntfy": "ntfy"}
    KNOBS: ClassVar[dict[str, Any]] = {"status": None, "body": None, "redirect_loop": False}
    status: int | None
    body: bytes | None
    redirect_loop: bool

    def __init__(self, name: str, app: str, control_domain: str):
        if app not in APPS:
            raise ValueError(f"app must be one of {', '.join(APPS)}")
        super().__init__(name)
        self.app, self.control_domain = app, control_domain
        self.reset()

    def greeting(self) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def serve(self, conn: Conn) -> None:
        _HttpHandler(conn.sock, ("127.0.0.1", 0), cast(Any, self))  # the handler's "server" is this backend

    def reply(self, path: str, headers) -> Reply:
        if self.redirect_loop:
            location = f"https://{headers.get('Host', self.control_domain)}{path}"
            return Reply(301, "text/html", b"<html>Moved Permanently</html>", {"Location": location})
        if self.status is not None or self.body is not None:
            status = self.status or 200
            if self.body is not None:
                return Reply(status, _CONTENT_TYPES[self.app], self.body)
            return _error_reply(self.app, status)
        return APPS[self.app](path, headers, self.control_domain)


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        reply = self.backend.reply(self.path, self.headers)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)

    def version_string(self) -> str:
        return HttpBackend.SERVER[self.backend.app]

    @property
    def backend(self) -> HttpBackend:
        return cast(HttpBackend, self.server)

    def log_message(self, format, *args) -> None:
        pass


def _json(status: int, data, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, "application/json", json.dumps(data, separators=(",", ":")).encode(), headers or {})


def _admin(path: str, headers, control_domain: str) -> Reply:
    """The admin app's S3 origin: index at ``/``; anything else is AccessDenied (OAI, no ListBucket)."""
    if path.split("?")[0] in ("/", "/index.html"):
        body = b"<!doctype html><html><head><title>Cabalmail</title></head><body><div id=\"root\"></div></body></html>"
        return Reply(200, "text/html", body, {"ETag": '"sandbox"'})
    return _error_reply("admin", 403)


def _api(path: str, headers, control_domain: str) -> Reply:
    """API Gateway stage ``prod`` with a Cognito authorizer (the JWT's signature is not checked) and ``/list``."""
    request_id = {"x-amzn-RequestId": str(uuid.uuid4())}
    if path.split("?")[0] != "/prod/list":
        return _json(403, {"message": "Missing Authentication Token"}, request_id)
    auth = (headers.get("Authorization") or "").strip()
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth
    exp = jwt_exp(token)
    unauthorized = {**request_id, "x-amzn-ErrorType": "UnauthorizedException"}
    if exp is None:
        return _json(401, {"message": "Unauthorized"}, unauthorized)
    if exp <= time.time():
        return _json(401, {"message": "The incoming token has expired"}, unauthorized)
    items = [{"address": f"sandbox@mail.{control_domain}", "user": "sandbox", "comment": "sandbox address"}]
    return _json(200, {"Items": items}, request_id)


def _ntfy(path: str, headers, control_domain: str) -> Reply:
    if path.split("?")[0] == "/v1/health":
        return Reply(200, "application/json", b'{"healthy":true}\n')
    return _error_reply("ntfy", 404)


APPS = {"admin": _admin, "api": _api, "ntfy": _ntfy}
_CONTENT_TYPES = {"admin": "text/html", "api": "application/json", "ntfy": "application/json"}


def _error_reply(app: str, status: int) -> Reply:
    """What each origin says when it fails with ``status``."""
    return _ERRORS[app](status, BaseHTTPRequestHandler.responses.get(status, ("Error",))[0])


def _s3_error(status: int, reason: str) -> Reply:
    code = {403: "AccessDenied", 404: "NoSuchKey"}.get(status, "InternalError")
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{reason}</Message></Error>'
    return Reply(status, "application/xml", body.encode())


def _api_error(status: int, reason: str) -> Reply:
    return _json(status, {"Error": f"sandbox: {reason}"} if status >= 500 else {"message": reason})


def _ntfy_error(status: int, reason: str) -> Reply:
    return _json(status, {"code": status * 100 + 1, "http": status, "error": reason.lower()})


_ERRORS = {"admin": _s3_error, "api": _api_error, "ntfy": _ntfy_error}


def jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of an unverified JWT, or None when the token is missing or garbled."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


def request_path(head: bytes) -> str:
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) >= 2 else "/"
