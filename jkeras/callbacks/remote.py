"""`RemoteMonitor`: posts each epoch's logs to an HTTP server (standard
library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from jkeras.callbacks.callback import Callback


def _plain(value):
    """A JSON-serializable form of a log value (numpy scalars/arrays unwrapped)."""
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__array__"):
        array = np.asarray(value)
        return array.item() if array.ndim == 0 else array.tolist()
    return value


class RemoteMonitor(Callback):
    """At each epoch end, POSTs {'epoch': epoch, **logs} to `root + path`:
    as a JSON body with `send_as_json=True`, otherwise form-encoded with the
    JSON text in the field `field` (Keras's default). `headers` are added to
    the request. A server that cannot be reached gives a warning, not an
    error. `timeout` (seconds) bounds each request."""

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/",
                 field: str = "data", headers: dict | None = None, send_as_json: bool = False,
                 timeout: float = 10.0):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def _request(self, payload: dict) -> urllib.request.Request:
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(payload).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                      method="POST")

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        payload.update({k: _plain(v) for k, v in dict(logs or {}).items()})
        try:
            with urllib.request.urlopen(self._request(payload), timeout=self.timeout):
                pass
        except (urllib.error.URLError, OSError, ValueError) as e:
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root} ({e}).",
                          stacklevel=2)
