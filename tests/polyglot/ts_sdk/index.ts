// The JavaScript SDK's capabilities, written in TypeScript, one route each, for
// the test that holds the Python and TypeScript SDKs to the same behaviour:
// multipart parts, a streamed upstream read as server-sent events, scopes, a
// WHATWG-like fetch, and an error thrown as a class.

import { type EndpointRequest, NotFound, auth, config, endpoint, http, jsonResponse } from "./gatehouse.js";

interface Completion {
  choices: { delta: { content: string } }[];
}

export const handler = endpoint(async (req: EndpointRequest) => {
  const action: string = req.path.split("/").pop() ?? "";
  const upstream: string = config.get("UPSTREAM") ?? "";
  if (action === "parts") {
    return jsonResponse(
      req.multipart().map((p) => ({
        name: p.name,
        fileName: p.fileName ?? null,
        contentType: p.contentType ?? null,
        size: p.data.length,
      })),
    );
  }
  if (action === "relay") {
    const res = await http.fetchStream(`${upstream}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${config.get("UPSTREAM_KEY")}` },
      json: { model: "m", stream: true, messages: [{ role: "user", content: req.json<{ prompt: string }>().prompt }] },
    });
    let text = "";
    let events = 0;
    for await (const message of res.events()) {
      events += 1;
      if (message.data.trim() === "[DONE]") break;
      text += (JSON.parse(message.data) as Completion).choices[0].delta.content;
    }
    return jsonResponse({ status: res.status, text, events });
  }
  if (action === "scope") {
    const me = auth.current();
    return jsonResponse({ has: auth.hasScope(req.query("scope") ?? ""), authenticated: me.isAuthenticated() });
  }
  if (action === "fetch") {
    const res = await http.fetch(`${upstream}/hello`);
    return jsonResponse({ status: res.status, header: res.headers.get("x-upstream"), text: await res.text() });
  }
  throw new NotFound(`no ${action} here`, "NO_SUCH_ACTION");
});
