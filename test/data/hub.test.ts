import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateCorpus } from "../../fixtures/lib/synthetic.ts";
import { hubCacheDir, type Progress, repoFolderName, resolveHubRepo } from "../../harness/data/hub.ts";
import { loadSplit } from "../../harness/data/load.ts";
import { writeParquet } from "../../harness/data/parquet.ts";
import { UserError } from "../../harness/errors.ts";
import { type FakeHub, gitBlobSha, sha256, startFakeHub } from "./hub-server.ts";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const bigWeights = Buffer.alloc(5000, 7); // over the LFS threshold: served through a 302

let hub: FakeHub;
let cache: string;
let parquetBytes: Buffer;
const records = generateCorpus(5, "hub", 12).map((a) => a.record);

beforeAll(async () => {
  const tmp = mkdtempSync(join(tmpdir(), "hub-pq-"));
  writeParquet(join(tmp, "x.parquet"), records);
  parquetBytes = readFileSync(join(tmp, "x.parquet"));
  rmSync(tmp, { recursive: true });
  hub = await startFakeHub([
    {
      type: "model",
      id: "tiny-org/tiny-llama",
      commits: {
        [C1]: { "config.json": '{"v":1}', "model.safetensors": bigWeights, "sub/dir/notes.txt": "hello" },
        [C2]: { "config.json": '{"v":2}', "model.safetensors": bigWeights, "sub/dir/notes.txt": "hello" },
      },
      refs: { main: C2, "v1.0": C1 },
    },
    {
      type: "dataset",
      id: "abisee/cnn_dailymail",
      commits: { [C1]: { "README.md": "# cnn", "3.0.0/test-00000-of-00001.parquet": parquetBytes } },
      refs: { main: C1 },
    },
  ]);
});
afterAll(() => hub.close());

const saved = { ...process.env };
beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), "hub-cache-"));
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_ENDPOINT = hub.endpoint;
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_TOKEN;
  hub.requests.length = 0;
});
afterEach(() => {
  process.env = { ...saved };
  rmSync(cache, { recursive: true, force: true });
});

const MODEL = "tiny-org/tiny-llama";
const storage = () => join(cache, repoFolderName(MODEL, "model"));

describe("resolveHubRepo: the huggingface_hub cache layout", () => {
  it("downloads into blobs/ + snapshots/<commit>/ symlinks + refs/<revision>", async () => {
    const seen: Progress[] = [];
    const snap = await resolveHubRepo({ repo: MODEL, onProgress: (p) => seen.push(p) });
    expect(snap.commit).toBe(C2);
    expect(snap.dir).toBe(join(storage(), "snapshots", C2));
    expect(snap.files).toEqual(["config.json", "model.safetensors", "sub/dir/notes.txt"]);
    expect(readFileSync(join(storage(), "refs", "main"), "utf8")).toBe(C2);
    // Small files are named by their git blob sha1, LFS files by their sha256 (X-Linked-Etag).
    const blobs = readdirSync(join(storage(), "blobs")).sort();
    expect(blobs).toEqual(
      [gitBlobSha(Buffer.from('{"v":2}')), sha256(bigWeights), gitBlobSha(Buffer.from("hello"))].sort(),
    );
    expect(readlinkSync(join(snap.dir, "model.safetensors"))).toBe(`../../blobs/${sha256(bigWeights)}`);
    expect(readlinkSync(join(snap.dir, "sub/dir/notes.txt"))).toBe(
      `../../../../blobs/${gitBlobSha(Buffer.from("hello"))}`,
    );
    expect(readFileSync(join(snap.dir, "model.safetensors")).equals(bigWeights)).toBe(true);
    const last = seen.filter((p) => p.file === "model.safetensors").at(-1)!;
    expect(last.bytes).toBe(5000);
    expect(last.total).toBe(5000);
    expect(last.rate).toBeGreaterThan(0);
  });

  it("filters files by exact name, glob or predicate", async () => {
    expect((await resolveHubRepo({ repo: MODEL, files: ["config.json"] })).files).toEqual(["config.json"]);
    expect((await resolveHubRepo({ repo: MODEL, files: ["sub/*/*.txt"] })).files).toEqual([
      "sub/dir/notes.txt",
    ]);
    expect((await resolveHubRepo({ repo: MODEL, files: (p) => p.endsWith(".safetensors") })).files).toEqual([
      "model.safetensors",
    ]);
    await expect(resolveHubRepo({ repo: MODEL, files: ["nope.bin"] })).rejects.toThrow(/no file nope\.bin/);
  });

  it("records a revision pin: a tag resolves to its commit and refs/<tag> records it", async () => {
    const snap = await resolveHubRepo({ repo: MODEL, revision: "v1.0", files: ["config.json"] });
    expect(snap.commit).toBe(C1);
    expect(readFileSync(join(snap.dir, "config.json"), "utf8")).toBe('{"v":1}');
    expect(readFileSync(join(storage(), "refs", "v1.0"), "utf8")).toBe(C1);
    expect(hub.requests[0].url).toBe(`/api/models/${MODEL}/revision/v1.0`);
  });

  it("makes no request at all on a cache hit with a pinned commit", async () => {
    await resolveHubRepo({ repo: MODEL, revision: C1 });
    hub.requests.length = 0;
    const snap = await resolveHubRepo({ repo: MODEL, revision: C1 });
    expect(snap.commit).toBe(C1);
    expect(hub.requests).toEqual([]);
  });

  it("asks only for the commit (no file downloads) when a branch's snapshot is cached", async () => {
    await resolveHubRepo({ repo: MODEL });
    hub.requests.length = 0;
    await resolveHubRepo({ repo: MODEL });
    expect(hub.requests.map((r) => r.url)).toEqual([`/api/models/${MODEL}/revision/main`]);
  });

  it("sends HF_TOKEN as a Bearer token on every request", async () => {
    process.env.HF_TOKEN = "hf_secret";
    await resolveHubRepo({ repo: MODEL, files: ["model.safetensors"] });
    expect(hub.requests.length).toBeGreaterThan(1);
    for (const r of hub.requests) expect(r.authorization).toBe("Bearer hf_secret");
  });

  it("HF_HUB_OFFLINE=1 uses refs/ + snapshots/ only, and says so when nothing is cached", async () => {
    await resolveHubRepo({ repo: MODEL });
    hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = "1";
    const snap = await resolveHubRepo({ repo: MODEL });
    expect(snap.commit).toBe(C2);
    expect(hub.requests).toEqual([]);
    const err = await resolveHubRepo({ repo: "tiny-org/other" }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(
      /^tiny-org\/other: HF_HUB_OFFLINE is set and model tiny-org\/other@main is not in the cache/,
    );
    expect(hub.requests).toEqual([]);
  });

  it("reuses a cache that Python's huggingface_hub populated", async () => {
    // The layout snapshot_download leaves behind, built by hand.
    const s = storage();
    const blob = gitBlobSha(Buffer.from('{"v":"py"}'));
    mkdirSync(join(s, "blobs"), { recursive: true });
    writeFileSync(join(s, "blobs", blob), '{"v":"py"}');
    mkdirSync(join(s, "snapshots", C2), { recursive: true });
    symlinkSync(`../../blobs/${blob}`, join(s, "snapshots", C2, "config.json"));
    mkdirSync(join(s, "refs"), { recursive: true });
    writeFileSync(join(s, "refs", "main"), C2);

    const pinned = await resolveHubRepo({ repo: MODEL, revision: C2, files: ["config.json"] });
    expect(readFileSync(join(pinned.dir, "config.json"), "utf8")).toBe('{"v":"py"}');
    expect(hub.requests).toEqual([]);
    process.env.HF_HUB_OFFLINE = "1";
    const offline = await resolveHubRepo({ repo: MODEL, files: ["config.json"] });
    expect(offline.dir).toBe(pinned.dir);
    delete process.env.HF_HUB_OFFLINE;
    // Online on "main": one API call, the cached file is not fetched again.
    await resolveHubRepo({ repo: MODEL, files: ["config.json"] });
    expect(hub.requests.map((r) => r.url)).toEqual([`/api/models/${MODEL}/revision/main`]);
  });

  it("names a missing repo (404) as a user error", async () => {
    const err = await resolveHubRepo({ repo: "nobody/missing" }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(
      /^nobody\/missing: repo not found: model nobody\/missing@main on http:\/\/127\.0\.0\.1/,
    );
    const rev = await resolveHubRepo({ repo: MODEL, revision: "no-such-branch" }).catch((e) => e);
    expect(rev.message).toMatch(/revision not found/);
  });

  it("never leaves a corrupt blob when the connection drops mid-download", async () => {
    hub.breakNext(`/${MODEL}/resolve/${C2}/config.json`);
    const err = await resolveHubRepo({ repo: MODEL, files: ["config.json"] }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    const blobs = existsSync(join(storage(), "blobs")) ? readdirSync(join(storage(), "blobs")) : [];
    expect(blobs).toEqual([]); // neither a half blob nor a leftover temp file
    expect(existsSync(join(storage(), "snapshots", C2, "config.json"))).toBe(false);
    const snap = await resolveHubRepo({ repo: MODEL, files: ["config.json"] });
    expect(lstatSync(join(snap.dir, "config.json")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(snap.dir, "config.json"), "utf8")).toBe('{"v":2}');
  });

  it("reports an unreachable endpoint as a user error that suggests offline mode", async () => {
    const err = await resolveHubRepo({ repo: MODEL, endpoint: "http://127.0.0.1:9" }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9 .*HF_HUB_OFFLINE=1/);
  });

  it("defaults the cache to $HF_HOME/hub", () => {
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = "/some/home";
    expect(hubCacheDir()).toBe("/some/home/hub");
  });
});

describe("loadSplit from a Hub dataset id", () => {
  it("downloads only the split's parquet shards and reads them", async () => {
    const got = await loadSplit("abisee/cnn_dailymail", "test");
    expect(got).toEqual(records);
    const gets = hub.requests.filter((r) => r.url.includes("/resolve/")).map((r) => r.url);
    expect(gets.every((u) => u.startsWith(`/datasets/abisee/cnn_dailymail/resolve/${C1}/3.0.0/test-`))).toBe(
      true,
    );
    const ds = join(cache, "datasets--abisee--cnn_dailymail");
    expect(existsSync(join(ds, "snapshots", C1, "README.md"))).toBe(false);
    // Offline, the cached split still loads.
    process.env.HF_HUB_OFFLINE = "1";
    hub.requests.length = 0;
    expect(await loadSplit("abisee/cnn_dailymail", "test")).toEqual(records);
    expect(hub.requests).toEqual([]);
  });

  it("a split missing on the Hub is a user error naming it", async () => {
    await expect(loadSplit("abisee/cnn_dailymail", "train")).rejects.toThrow(
      /no files in dataset abisee\/cnn_dailymail@main match/,
    );
  });
});
