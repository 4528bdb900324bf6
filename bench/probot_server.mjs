// The Probot side of bench/webhooks.py: a minimal Probot app that verifies signed deliveries
// and answers them, stores nothing. Run from the cache directory where the bench installed
// the `probot` npm package:  node probot_server.mjs PORT SECRET PRIVATE_KEY_FILE
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createNodeMiddleware, createProbot } from "probot";

const [port, secret, keyFile] = process.argv.slice(2);
const probot = createProbot({
  overrides: { appId: 1, privateKey: readFileSync(keyFile, "utf8"), secret, logLevel: "warn" },
});
const appFn = (app) => {
  app.onAny(async () => {});
};
const middleware = await createNodeMiddleware(appFn, { probot });
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200).end("ok");
    return;
  }
  middleware(req, res, () => res.writeHead(404).end());
});
server.listen(Number(port), "127.0.0.1");
