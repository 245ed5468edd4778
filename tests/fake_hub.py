"""A tiny Hugging Face Hub on 127.0.0.1 for download tests: resolve (HEAD/GET, ranges), revision and tree APIs.

Only what ``huggingface_hub.hf_hub_download`` and the revision/tree APIs need: ``X-Repo-Commit`` and
``ETag`` headers, ``X-Error-Code`` for missing repos, revisions and files, ``Range`` requests, and an
optional cut connection to exercise resumable downloads. Never reachable from outside this machine.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
from typing import Optional

RESOLVE = re.compile(r'^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$')
API = re.compile(r'^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<kind>revision|tree)/(?P<revision>[^/?]+)')


class FakeHub:
    def __init__(self, host: str = '127.0.0.1', port: int = 0):
        self.repos: dict[str, dict] = {}  # repo -> {'commits': {sha: {file: bytes}}, 'branches': {name: sha}}
        self.requests: list[tuple[str, str, dict]] = []
        self.cut_next_download = False
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub._handle(self, head=True)

            def do_GET(self):
                hub._handle(self, head=False)

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f'http://127.0.0.1:{self.server.server_address[1]}'

    def start(self) -> 'FakeHub':
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_commit(self, repo_id: str, files: dict[str, bytes], branch: str = 'main') -> str:
        """Publish files as a new commit on ``branch``; returns the commit hash."""
        repo = self.repos.setdefault(repo_id, {'commits': {}, 'branches': {}})
        parent = repo['branches'].get(branch)
        content = dict(repo['commits'].get(parent, {}), **files)
        sha = hashlib.sha1((repo_id + json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in
                                                        content.items())) + str(len(repo['commits']))).encode()
                           ).hexdigest()
        repo['commits'][sha] = content
        repo['branches'][branch] = sha
        return sha

    # ---------------------------------------------------------------------------------------------
    def _commit(self, repo_id: str, revision: str) -> tuple[Optional[dict], Optional[str], Optional[str]]:
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, None, 'RepoNotFound'
        sha = repo['branches'].get(revision, revision)
        if sha not in repo['commits']:
            return None, None, 'RevisionNotFound'
        return repo['commits'][sha], sha, None

    @staticmethod
    def _send(handler, status: int, body: bytes = b'', headers: Optional[dict] = None, head: bool = False,
              length: Optional[int] = None):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header('Content-Length', str(len(body) if length is None else length))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)

    def _error(self, handler, code: str, head: bool):
        status = 401 if code == 'RepoNotFound' else 404
        body = json.dumps({'error': code}).encode()
        self._send(handler, status, body, {'X-Error-Code': code, 'Content-Type': 'application/json'}, head)

    def _handle(self, handler, head: bool) -> None:
        path = handler.path.split('?')[0]
        self.requests.append((handler.command, path, dict(handler.headers)))
        match = RESOLVE.match(path)
        if match:
            files, sha, error = self._commit(match['repo'], match['revision'])
            if error:
                return self._error(handler, error, head)
            if match['filename'] not in files:
                return self._error(handler, 'EntryNotFound', head)
            data = files[match['filename']]
            headers = {'X-Repo-Commit': sha, 'ETag': f'"{hashlib.sha256(data).hexdigest()}"',
                       'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream'}
            range_header = handler.headers.get('Range')
            if range_header and not head:
                start = int(re.match(r'bytes=(\d+)-', range_header).group(1))
                headers['Content-Range'] = f'bytes {start}-{len(data) - 1}/{len(data)}'
                return self._send(handler, 206, data[start:], headers)
            if not head and self.cut_next_download:
                self.cut_next_download = False
                self._send(handler, 200, data[:len(data) // 2], headers, length=len(data))
                handler.close_connection = True
                return
            return self._send(handler, 200, data, headers, head, length=len(data) if head else None)
        match = API.match(path)
        if match:
            files, sha, error = self._commit(match['repo'], match['revision'])
            if error:
                return self._error(handler, error, head)
            if match['kind'] == 'revision':
                body = {'id': match['repo'], 'sha': sha, 'siblings': [{'rfilename': name} for name in sorted(files)]}
            else:
                body = [{'type': 'file', 'path': name, 'size': len(data), 'oid': hashlib.sha1(data).hexdigest()}
                        for name, data in sorted(files.items())]
            return self._send(handler, 200, json.dumps(body).encode(), {'Content-Type': 'application/json'}, head)
        self._send(handler, 404, b'{}', {'Content-Type': 'application/json'}, head)
