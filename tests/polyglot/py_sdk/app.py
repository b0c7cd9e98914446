"""The Python SDK's capabilities, one route each, for the test that holds the
Python and TypeScript SDKs to the same behaviour: multipart parts, a streamed
upstream read as server-sent events, scopes, a WHATWG-like fetch, and an error
raised as an exception class. Written the usual Python way: submodules
imported by name, errors as classes."""

import json

from gatehouse import NotFound, Request, endpoint, json_response
from gatehouse.auth import current, has_scope
from gatehouse.config import get
from gatehouse.http import fetch, fetch_stream


@endpoint
def handle(req: Request):
    action = req.path.rsplit("/", 1)[-1]
    if action == "parts":
        return json_response([
            {"name": p.name, "fileName": p.file_name, "contentType": p.content_type, "size": len(p.data)}
            for p in req.multipart()
        ])
    if action == "relay":
        upstream = fetch_stream(f"{get('UPSTREAM')}/v1/chat/completions", method="POST",
                                headers=[("authorization", f"Bearer {get('UPSTREAM_KEY')}")],
                                json={"model": "m", "stream": True,
                                      "messages": [{"role": "user", "content": req.json()["prompt"]}]})
        text, events = "", 0
        for message in upstream.events():
            events += 1
            if message.data.strip() == "[DONE]":
                break
            text += json.loads(message.data)["choices"][0]["delta"]["content"]
        return json_response({"status": upstream.status, "text": text, "events": events})
    if action == "scope":
        me = current()
        return json_response({"has": has_scope(req.query("scope") or ""), "authenticated": me.is_authenticated()})
    if action == "fetch":
        res = fetch(f"{get('UPSTREAM')}/hello")
        return json_response({"status": res.status, "header": res.header("x-upstream"), "text": res.text()})
    raise NotFound(f"no {action} here", "NO_SUCH_ACTION")
