import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";

/**
 * Hugging Face Hub downloads into the cache layout huggingface_hub (Python) uses, so either side
 * reuses the other's files:
 *   {cache}/{models|datasets}--{org}--{name}/blobs/{etag}
 *                                          /snapshots/{commit}/{path} -> ../../blobs/{etag}
 *                                          /refs/{revision}  (contains the commit sha)
 * The few HTTP calls are made with fetch, mirroring huggingface_hub: @huggingface/hub's
 * downloadFileToCacheDir names snapshots by each file's last commit and writes no refs, which
 * breaks that sharing.
 */

export type RepoType = "model" | "dataset";
export type FileFilter = readonly string[] | ((path: string) => boolean);

export interface Progress {
  file: string;
  bytes: number;
  total: number | null;
  /** Bytes per second since this file started. */
  rate: number;
}

export interface HubRequest {
  repo: string;
  type?: RepoType;
  /** Branch, tag or commit sha (default "main"). */
  revision?: string;
  /** Which files: exact paths, globs ("3.0.0/train-*.parquet"), or a predicate. Default: all. */
  files?: FileFilter;
  /** Default: HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  token?: string;
  cacheDir?: string;
  onProgress?: (p: Progress) => void;
}

export interface HubSnapshot {
  dir: string;
  commit: string;
  files: string[];
}

const COMMIT = /^[0-9a-f]{40}$/;

export function hubCacheDir(): string {
  const env = process.env;
  return env.HF_HUB_CACHE ?? join(env.HF_HOME ?? join(homedir(), ".cache", "huggingface"), "hub");
}

export function repoFolderName(repo: string, type: RepoType): string {
  return [`${type}s`, ...repo.split("/")].join("--");
}

function isOffline(): boolean {
  const v = (process.env.HF_HUB_OFFLINE ?? "").toUpperCase();
  return v === "1" || v === "ON" || v === "YES" || v === "TRUE";
}

function globToRegExp(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${esc}$`);
}

function matcher(files: FileFilter | undefined): (p: string) => boolean {
  if (!files) return () => true;
  if (typeof files === "function") return files;
  const res = (files as readonly string[]).map(globToRegExp);
  return (p) => res.some((re) => re.test(p));
}

/** Exact names (no wildcard) in a list must exist; globs and predicates may match nothing yet. */
function exactNames(files: FileFilter | undefined): string[] {
  return Array.isArray(files) ? files.filter((f) => !/[*?]/.test(f)) : [];
}

function listFiles(root: string, prefix = ""): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(root, e.name), rel));
    else out.push(rel);
  }
  return out;
}

/** Files of a snapshot already in the cache that the request wants, or null if it is not usable. */
function fromCache(storage: string, commit: string, files: FileFilter | undefined): HubSnapshot | null {
  const dir = join(storage, "snapshots", commit);
  const want = matcher(files);
  // existsSync follows the symlink: a pointer to a missing blob does not count.
  const have = listFiles(dir).filter((p) => want(p) && existsSync(join(dir, p)));
  if (have.length === 0 || exactNames(files).some((f) => !have.includes(f))) return null;
  return { dir, commit, files: have.sort() };
}

function readRef(storage: string, revision: string): string | null {
  const p = join(storage, "refs", revision);
  if (!existsSync(p)) return null;
  const sha = readFileSync(p, "utf8").trim();
  return COMMIT.test(sha) ? sha : null;
}

/** Resolve a repo revision to a local snapshot directory, downloading what the cache lacks. */
export async function resolveHubRepo(req: HubRequest): Promise<HubSnapshot> {
  const type = req.type ?? "model";
  const revision = req.revision ?? "main";
  const storage = join(req.cacheDir ?? hubCacheDir(), repoFolderName(req.repo, type));
  const label = `${type} ${req.repo}@${revision}`;

  // A pinned commit already in the cache: no request at all.
  if (COMMIT.test(revision)) {
    const hit = fromCache(storage, revision, req.files);
    if (hit) return hit;
  }
  if (isOffline()) {
    const commit = COMMIT.test(revision) ? revision : readRef(storage, revision);
    const hit = commit ? fromCache(storage, commit, req.files) : null;
    if (hit) return hit;
    throw new UserError(`HF_HUB_OFFLINE is set and ${label} is not in the cache (${storage})`, req.repo);
  }

  const endpoint = (req.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const token = req.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = { "user-agent": "lora-bench; hf_hub/compatible" };
  if (token) headers.authorization = `Bearer ${token}`;
  const http = { endpoint, headers, label, repo: req.repo };

  const api = `${endpoint}/api/${type}s/${req.repo}/revision/${encodeURIComponent(revision)}`;
  const info = (await getJson(http, api)) as { sha?: string; siblings?: { rfilename: string }[] };
  if (!info.sha || !COMMIT.test(info.sha))
    throw new UserError(`Hub answered without a commit sha (${api})`, req.repo);
  const commit = info.sha;
  const all = (info.siblings ?? []).map((s) => s.rfilename);
  const want = matcher(req.files);
  const files = all.filter(want).sort();
  for (const f of exactNames(req.files)) {
    if (!all.includes(f)) throw new UserError(`no file ${f} in ${label}`, req.repo);
  }
  if (files.length === 0) throw new UserError(`no files in ${label} match the request`, req.repo);

  const snapDir = join(storage, "snapshots", commit);
  const progress = req.onProgress ?? (process.stderr.isTTY ? stderrBar() : undefined);
  for (const f of files) {
    if (existsSync(join(snapDir, f))) continue;
    const prefix = type === "dataset" ? `${endpoint}/datasets` : endpoint;
    const url = `${prefix}/${req.repo}/resolve/${commit}/${f.split("/").map(encodeURIComponent).join("/")}`;
    await downloadToCache(http, url, storage, commit, f, progress);
  }
  // refs/{revision} -> commit, as Python writes it (only for branch/tag names).
  if (revision !== commit) writeFileAtomic(join(storage, "refs", revision), commit);
  return { dir: snapDir, commit, files };
}

interface Http {
  endpoint: string;
  headers: Record<string, string>;
  label: string;
  repo: string;
}

async function request(http: Http, url: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { ...http.headers, ...(init.headers as object) } });
  } catch (err) {
    const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new UserError(
      `cannot reach ${http.endpoint} (${why}); set HF_HUB_OFFLINE=1 to use the cache`,
      http.repo,
    );
  }
  if (res.ok || (res.status >= 300 && res.status < 400)) return res;
  const code = res.headers.get("x-error-code");
  const msg = res.headers.get("x-error-message");
  const detail = [code, msg].filter(Boolean).join(": ");
  if (res.status === 404) {
    const what =
      code === "RevisionNotFound"
        ? "revision not found"
        : code === "EntryNotFound"
          ? "file not found"
          : "repo not found";
    throw new UserError(
      `${what}: ${http.label} on ${http.endpoint}${detail ? ` (${detail})` : ""}`,
      http.repo,
    );
  }
  if (res.status === 401 || res.status === 403) {
    throw new UserError(
      `access denied to ${http.label} (HTTP ${res.status}); is HF_TOKEN set and allowed?`,
      http.repo,
    );
  }
  throw new UserError(`HTTP ${res.status} from ${url}${detail ? ` (${detail})` : ""}`, http.repo);
}

async function getJson(http: Http, url: string): Promise<unknown> {
  const res = await request(http, url);
  try {
    return await res.json();
  } catch {
    throw new UserError(`Hub answered with invalid JSON (${url})`, http.repo);
  }
}

/** An ETag header as huggingface_hub normalises it: no weak prefix, no quotes. */
function normEtag(v: string | null): string | null {
  return v ? v.replace(/^W\//, "").replace(/"/g, "") : null;
}

/**
 * HEAD without following redirects, as huggingface_hub does: an LFS file answers 302 to its storage,
 * and the 302 carries X-Linked-Etag (the sha256 that names the blob). Then GET, following redirects.
 */
async function downloadToCache(
  http: Http,
  url: string,
  storage: string,
  commit: string,
  file: string,
  progress?: (p: Progress) => void,
): Promise<void> {
  const head = await request(http, url, {
    method: "HEAD",
    redirect: "manual",
    headers: { "accept-encoding": "identity" },
  });
  const etag = normEtag(head.headers.get("x-linked-etag") ?? head.headers.get("etag"));
  if (!etag) throw new UserError(`Hub sent no ETag for ${file}`, http.repo);
  const blob = join(storage, "blobs", etag);
  if (!existsSync(blob)) {
    const res = await request(http, url, { headers: { "accept-encoding": "identity" } });
    if (!res.ok || !res.body)
      throw new UserError(`download of ${file} failed (HTTP ${res.status})`, http.repo);
    const size = head.headers.get("x-linked-size") ?? res.headers.get("content-length");
    await streamAtomic(res.body, blob, file, size ? Number(size) : null, etag, http.repo, progress);
  }
  const pointer = join(storage, "snapshots", commit, file);
  mkdirSync(dirname(pointer), { recursive: true });
  rmSync(pointer, { force: true });
  symlinkSync(relative(dirname(pointer), blob), pointer);
}

/** Stream to a temp file, fsync, check size (and sha256 for LFS etags), rename: no corrupt blob. */
async function streamAtomic(
  body: ReadableStream<Uint8Array>,
  blob: string,
  file: string,
  total: number | null,
  etag: string,
  repo: string,
  progress?: (p: Progress) => void,
): Promise<void> {
  mkdirSync(dirname(blob), { recursive: true });
  const tmp = `${blob}.${process.pid}.incomplete`;
  const fd = openSync(tmp, "w");
  const sha = createHash("sha256");
  const t0 = Date.now();
  let bytes = 0;
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      let off = 0;
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off);
      sha.update(chunk);
      bytes += chunk.byteLength;
      progress?.({ file, bytes, total, rate: bytes / Math.max((Date.now() - t0) / 1000, 1e-3) });
    }
    fsyncSync(fd);
    closeSync(fd);
    if (total !== null && bytes !== total)
      throw new UserError(`download of ${file} cut short (${bytes} of ${total} bytes)`, repo);
    // LFS blobs are named by their sha256: check the content really is that.
    if (/^[0-9a-f]{64}$/.test(etag) && sha.digest("hex") !== etag) {
      throw new UserError(`download of ${file} does not match its sha256 ${etag}`, repo);
    }
    renameSync(tmp, blob);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`download of ${file} failed (${(err as Error).message})`, repo);
  }
}

/** A one-line progress bar on stderr (only used when stderr is a terminal). */
export function stderrBar(): (p: Progress) => void {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return (p) => {
    const pct = p.total ? Math.floor((100 * p.bytes) / p.total) : null;
    const bar = pct === null ? "" : `[${"#".repeat(pct / 5).padEnd(20)}] ${pct}% `;
    const line = `${p.file} ${bar}${mb(p.bytes)}${p.total ? `/${mb(p.total)}` : ""} MB ${mb(p.rate)} MB/s`;
    process.stderr.write(
      `\r${line.slice(0, 100).padEnd(100)}${p.total !== null && p.bytes >= p.total ? "\n" : ""}`,
    );
  };
}
