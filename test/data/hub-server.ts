import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local imitation of the Hub endpoints huggingface_hub uses: the revision API and `resolve`.
 * Files of at least `lfsThreshold` bytes behave like LFS files: HEAD/GET answer 302 to a storage URL
 * and carry X-Linked-Etag (sha256) and X-Linked-Size; small files answer directly with a git-blob ETag.
 */
/** A file served from disk, streamed (checkpoints past 2 GiB cannot be one Buffer). Always LFS. */
export interface OnDisk {
  path: string;
}

export interface FakeRepo {
  type: "model" | "dataset";
  id: string;
  /** commit sha -> files */
  commits: Record<string, Record<string, Uint8Array | string | OnDisk>>;
  /** branch/tag -> commit sha */
  refs: Record<string, string>;
}

export interface Recorded {
  method: string;
  url: string;
  authorization?: string;
}

export interface FakeHub {
  endpoint: string;
  requests: Recorded[];
  close(): Promise<void>;
  /** Make the next GET of this path send only part of its body, then drop the connection. */
  breakNext(path: string): void;
}

const gitBlobSha = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
// Hashed once per buffer: a served checkpoint can be gigabytes.
const hashes = new WeakMap<Buffer, string>();
const sha256 = (b: Buffer) => {
  let h = hashes.get(b);
  if (!h) {
    h = createHash("sha256").update(b).digest("hex");
    hashes.set(b, h);
  }
  return h;
};
const diskHashes = new Map<string, string>();
function diskSha256(f: OnDisk): string {
  let h = diskHashes.get(f.path);
  if (!h) {
    const hash = createHash("sha256");
    const buf = Buffer.alloc(1 << 22);
    const fd = openSync(f.path, "r");
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
    closeSync(fd);
    h = hash.digest("hex");
    diskHashes.set(f.path, h);
  }
  return h;
}
const onDisk = (c: Uint8Array | string | OnDisk): c is OnDisk =>
  typeof c === "object" && !(c instanceof Uint8Array);

const views = new WeakMap<Uint8Array, Buffer>();
/** One Buffer view per file's content, without copying bytes (copies of a checkpoint add up). */
function bufferOf(content: Uint8Array | string): Buffer {
  if (typeof content === "string") return Buffer.from(content);
  let b = views.get(content);
  if (!b) {
    b = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    views.set(content, b);
  }
  return b;
}

export async function startFakeHub(
  repos: FakeRepo[],
  opts: { lfsThreshold?: number; requireToken?: string } = {},
) {
  const lfs = opts.lfsThreshold ?? 1024;
  const requests: Recorded[] = [];
  const broken = new Set<string>();
  const find = (type: string, id: string) => repos.find((r) => `${r.type}s` === type && r.id === id);
  const commitOf = (r: FakeRepo, rev: string) => (r.commits[rev] ? rev : r.refs[rev]);

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({ method: req.method ?? "", url: url.pathname, authorization: req.headers.authorization });
    if (opts.requireToken && req.headers.authorization !== `Bearer ${opts.requireToken}`) {
      res.writeHead(401, { "x-error-code": "GatedRepo" }).end();
      return;
    }
    const notFound = (code: string) => res.writeHead(404, { "x-error-code": code }).end();
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);

    // /api/{models|datasets}/{org}/{name}/revision/{rev}
    if (parts[0] === "api" && parts[4] === "revision") {
      const repo = find(parts[1], `${parts[2]}/${parts[3]}`);
      if (!repo) return notFound("RepoNotFound");
      const sha = commitOf(repo, parts.slice(5).join("/"));
      if (!sha) return notFound("RevisionNotFound");
      const siblings = Object.keys(repo.commits[sha]).map((rfilename) => ({ rfilename }));
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ id: repo.id, sha, siblings }));
      return;
    }
    // /cdn/{sha256}: where LFS files redirect to
    if (parts[0] === "cdn") {
      for (const r of repos) {
        for (const files of Object.values(r.commits)) {
          for (const content of Object.values(files)) {
            if (onDisk(content)) {
              if (diskSha256(content) !== parts[1]) continue;
              res.writeHead(200, { "content-length": String(statSync(content.path).size) });
              if (req.method === "HEAD") return res.end();
              createReadStream(content.path).pipe(res);
              return;
            }
            const b = bufferOf(content);
            if (sha256(b) === parts[1]) return send(b, {});
          }
        }
      }
      return notFound("EntryNotFound");
    }
    // /{org}/{name}/resolve/{rev}/{path} or /datasets/{org}/{name}/resolve/…
    const type = parts[0] === "datasets" ? "datasets" : "models";
    const p = type === "datasets" ? parts.slice(1) : parts;
    if (p[2] !== "resolve") return notFound("EntryNotFound");
    const repo = find(type, `${p[0]}/${p[1]}`);
    if (!repo) return notFound("RepoNotFound");
    const sha = commitOf(repo, p[3]);
    if (!sha) return notFound("RevisionNotFound");
    const content = repo.commits[sha][p.slice(4).join("/")];
    if (content === undefined) return notFound("EntryNotFound");
    const b = onDisk(content) ? null : bufferOf(content);
    if (!b || b.length >= lfs) {
      const digest = b ? sha256(b) : diskSha256(content as OnDisk);
      const size = b ? b.length : statSync((content as OnDisk).path).size;
      res.writeHead(302, {
        location: `/cdn/${digest}`,
        "x-repo-commit": sha,
        "x-linked-etag": `"${digest}"`,
        "x-linked-size": String(size),
        etag: `"${gitBlobSha(Buffer.from("pointer"))}"`,
      });
      res.end();
      return;
    }
    send(b, { "x-repo-commit": sha, etag: `"${gitBlobSha(b)}"` });

    function send(b: Buffer, headers: Record<string, string>) {
      res.writeHead(200, { ...headers, "content-length": String(b.length) });
      if (req.method === "HEAD") return res.end();
      if (broken.delete(url.pathname) || broken.delete(`/cdn/${sha256(b)}`)) {
        res.write(b.subarray(0, Math.floor(b.length / 2)));
        res.destroy(); // connection dropped mid-body
        return;
      }
      res.end(b);
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
    breakNext: (path: string) => broken.add(path),
  } satisfies FakeHub;
}

export { gitBlobSha, sha256 };
