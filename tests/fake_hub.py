"""A minimal stand-in for the Hugging Face hub's HTTP API, served on 127.0.0.1.

It answers the three requests a download makes — the repository listing
(``/api/models/{repo}/revision/{rev}``), and HEAD/GET of ``/{repo}/resolve/{rev}/{file}`` — from
files in a folder, so the real huggingface_hub download code runs end to end without a network.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class FakeHub:
    def __init__(self, repo: str, sha: str, folder: Path) -> None:
        self.repo, self.sha, self.folder = repo, sha, folder
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _file(self) -> Path | None:
                prefix = f"/{hub.repo}/resolve/"
                if not self.path.startswith(prefix):
                    return None
                rev, _, name = self.path[len(prefix) :].partition("/")
                if rev not in (hub.sha, "main"):
                    return None
                path = hub.folder / name
                return path if path.is_file() else None

            def _head(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("X-Repo-Commit", hub.sha)
                self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()

            def do_HEAD(self) -> None:
                hub.requests.append("HEAD " + self.path)
                path = self._file()
                if path is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self._head(path.read_bytes())

            def do_GET(self) -> None:
                hub.requests.append("GET " + self.path.split("?")[0])
                api = f"/api/models/{hub.repo}/revision/"
                if self.path.startswith(api):
                    rev = self.path[len(api) :].split("?")[0]
                    if rev not in (hub.sha, "main"):
                        self.send_response(404)
                        self.send_header("X-Error-Code", "RevisionNotFound")
                        self.end_headers()
                        return
                    body = json.dumps(
                        {
                            "id": hub.repo,
                            "sha": hub.sha,
                            "siblings": [
                                {"rfilename": p.relative_to(hub.folder).as_posix()}
                                for p in sorted(hub.folder.rglob("*"))
                                if p.is_file()
                            ],
                        }
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path = self._file()
                if path is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = path.read_bytes()
                self._head(body)
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def route(monkeypatch: Any, fake: FakeHub, hf_home: Path) -> None:
    """Point huggingface_hub at ``fake``, online, with the (empty) cache ``hf_home``."""
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", fake.url)
    monkeypatch.setattr(
        "huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE", fake.url + "/{repo_id}/resolve/{revision}/{filename}"
    )
