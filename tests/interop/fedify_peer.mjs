// A real third-party ActivityPub server for Hirondelle's interop tests: Fedify 2.3.6 on Node 22.
// Adapted from shared/reference/examples/peer.mjs (written for this project).
//
// Install:  sh tests/interop/setup.sh        (Node 22 + Fedify from npm into tests/interop/.node)
// Run:      tests/interop/.node/node_modules/.bin/node tests/interop/fedify_peer.mjs
//   env PORT          port on 127.0.0.1 (default 8100); the peer never binds anything else
//       FEDIFY_LOG    Fedify's log level (default "info"), printed on stdout with the events
//       TLS_CERT, TLS_KEY     PEM files: serve https (origin https://127.0.0.1:$PORT), else http
//       NODE_EXTRA_CA_CERTS   the test CA, so that Fedify trusts Hirondelle's https server
//
// Actor: http(s)://127.0.0.1:$PORT/users/bob (Person, RSA + Ed25519 keys, alsoKnownAs settable);
// inboxes /users/bob/inbox and /inbox, recording Accept, Reject, Follow, Undo, Create, Update
// and Move. Fedify looks handles up over https only (WebFinger), so the server under test must
// serve TLS. Hirondelle's WebFinger is https-only too: to confirm a Move to bob, serve TLS here.
//
// Test hooks (GET, JSON answers):
//   /_test/lookup?q=<handle|url>    lookupObject with bob's signing document loader
//   /_test/follow?q=<handle|url>    bob sends Follow to the looked-up actor
//   /_test/unfollow?q=<handle|url>  bob sends Undo(Follow) of the Follow sent before
//   /_test/alias?uri=<url>          set bob's alsoKnownAs to [uri] (empty: no aliases)
//   /_test/events                   every event recorded so far (inbox_*, sent_*, errors)
// Every event is also printed as one JSON line on stdout.
import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { configure, getConsoleSink } from "@logtape/logtape";
import {
  createFederation,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Create,
  Endpoints,
  Follow,
  isActor,
  lookupObject,
  Move,
  Person,
  Reject,
  Undo,
  Update,
} from "@fedify/vocab";

const PORT = Number(process.env.PORT ?? 8100);
const TLS = process.env.TLS_CERT && process.env.TLS_KEY
  ? { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) }
  : null;
const ORIGIN = `${TLS ? "https" : "http"}://127.0.0.1:${PORT}`;
const events = [];
let aliases = [];
const sentFollows = new Map(); // followed actor id -> the Follow bob sent

function ev(event, data = {}) {
  const e = { t: Date.now() / 1000, event, ...data };
  events.push(e);
  console.log(JSON.stringify(e));
}

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    { category: "fedify", lowestLevel: process.env.FEDIFY_LOG ?? "info", sinks: ["console"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

const keys = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  allowPrivateAddress: true, // 127.0.0.1 / localhost targets (testing only)
  origin: ORIGIN,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "bob") return null;
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Bob (Fedify peer)",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pairs[0].cryptographicKey,
      assertionMethods: pairs.map((pair) => pair.multikey),
      aliases: aliases.map((uri) => new URL(uri)),
    });
  })
  .mapHandle((_ctx, username) => (username === "bob" ? "bob" : null))
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "bob" ? keys : []));

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  // Accept embeds bob's Follow; objectId avoids re-fetching it (its id is not served here).
  .on(Accept, async (_ctx, a) => {
    ev("inbox_accept", { id: a.id?.href, actor: a.actorId?.href, object: a.objectId?.href });
  })
  .on(Reject, async (_ctx, r) => {
    ev("inbox_reject", { id: r.id?.href, actor: r.actorId?.href, object: r.objectId?.href });
  })
  .on(Follow, async (_ctx, f) => {
    ev("inbox_follow", { id: f.id?.href, actor: f.actorId?.href, object: f.objectId?.href });
  })
  .on(Undo, async (_ctx, u) => {
    ev("inbox_undo", { id: u.id?.href, actor: u.actorId?.href, object: u.objectId?.href });
  })
  .on(Create, async (_ctx, c) => {
    const o = await c.getObject();
    ev("inbox_create", { id: c.id?.href, actor: c.actorId?.href, content: o?.content?.toString() });
  })
  .on(Update, async (_ctx, u) => {
    let object = null;
    try {
      object = await u.getObject();
    } catch (e) {
      ev("inbox_update_object_error", { error: String(e) });
    }
    ev("inbox_update", {
      id: u.id?.href,
      actor: u.actorId?.href,
      object: u.objectId?.href,
      objectType: object?.constructor?.name ?? null,
      movedTo: object?.successorId?.href ?? null,
    });
  })
  .on(Move, async (_ctx, m) => {
    ev("inbox_move", {
      id: m.id?.href,
      actor: m.actorId?.href,
      object: m.objectId?.href,
      target: m.targetId?.href,
    });
  })
  .onError((_ctx, e) => ev("inbox_error", { error: String(e?.stack ?? e) }));

async function describe(obj, ctx) {
  return {
    type: obj.constructor.name,
    id: obj.id?.href,
    name: obj.name?.toString() ?? null,
    preferredUsername: obj.preferredUsername?.toString() ?? null,
    inbox: obj.inboxId?.href ?? null,
    publicKey: (await obj.getPublicKey?.())?.id?.href ?? null,
    movedTo: obj.successorId?.href ?? null,
    json: await obj.toJsonLd({ contextLoader: ctx.contextLoader }),
  };
}

async function testRoute(url) {
  if (url.pathname === "/_test/events") return Response.json(events);
  if (url.pathname === "/_test/alias") {
    const uri = url.searchParams.get("uri") ?? "";
    aliases = uri ? [uri] : [];
    ev("alias_set", { aliases });
    return Response.json({ aliases });
  }
  const q = url.searchParams.get("q");
  if (!["/_test/lookup", "/_test/follow", "/_test/unfollow"].includes(url.pathname)) {
    return Response.json({ error: "no such hook" }, { status: 404 });
  }
  if (!q) return Response.json({ error: "give ?q=<handle|url>" }, { status: 400 });
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const documentLoader = await ctx.getDocumentLoader({ identifier: "bob" }); // signed GETs
  const t0 = performance.now();
  const obj = await lookupObject(q, {
    documentLoader,
    contextLoader: ctx.contextLoader,
    allowPrivateAddress: true,
  });
  const ms = Math.round(performance.now() - t0);
  if (obj == null) return Response.json({ error: "not found", q, ms }, { status: 404 });
  if (url.pathname === "/_test/lookup") return Response.json({ ms, ...(await describe(obj, ctx)) });
  if (!isActor(obj)) return Response.json({ error: "not an actor" }, { status: 400 });
  if (url.pathname === "/_test/follow") {
    const follow = new Follow({
      id: new URL(`${ORIGIN}/follows/${crypto.randomUUID()}`),
      actor: ctx.getActorUri("bob"),
      object: obj.id,
    });
    await ctx.sendActivity({ identifier: "bob" }, obj, follow);
    sentFollows.set(obj.id.href, follow);
    ev("sent_follow", { id: follow.id.href, to: obj.id.href });
    return Response.json({ sent: true, id: follow.id.href, ms });
  }
  if (url.pathname === "/_test/unfollow") {
    const follow = sentFollows.get(obj.id.href);
    if (follow == null) return Response.json({ error: "bob never followed it" }, { status: 409 });
    const undo = new Undo({
      id: new URL(`${ORIGIN}/undos/${crypto.randomUUID()}`),
      actor: ctx.getActorUri("bob"),
      object: follow,
    });
    await ctx.sendActivity({ identifier: "bob" }, obj, undo);
    sentFollows.delete(obj.id.href);
    ev("sent_undo", { id: undo.id.href, to: obj.id.href, follow: follow.id.href });
    return Response.json({ sent: true, id: undo.id.href, ms });
  }
}

async function handle(req, res) {
  try {
    const url = new URL(req.url, ORIGIN);
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const hasBody = !["GET", "HEAD"].includes(req.method);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? Buffer.concat(chunks) : undefined,
    });
    const response = url.pathname.startsWith("/_test/")
      ? await testRoute(url)
      : await federation.fetch(request, { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    ev("error", { error: String(e?.stack ?? e) });
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e));
  }
}

const server = TLS ? https.createServer(TLS, handle) : http.createServer(handle);
server.listen(PORT, "127.0.0.1", () => ev("listening", { origin: ORIGIN, node: process.version }));
for (const s of ["SIGTERM", "SIGINT"]) {
  process.on(s, () => {
    server.close();
    process.exit(0);
  });
}
