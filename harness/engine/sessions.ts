/**
 * The sessions of one model and their lifecycle. On a GPU each session holds its own copy of the
 * frozen weights (uploaded once); on the CPU sessions share the mapped weight files, unless weights
 * were handed over from memory (then onnxruntime-node 1.30 copies them into each session). So the pool
 * can keep one session at a time, release sessions by graph kind, and retire every weight snapshot
 * when full fine-tuning is about to change the weights.
 */
import type { BuiltGraph, GraphSpec } from "./llama.ts";
import type { Session } from "./session.ts";

export type GraphKind = GraphSpec["kind"];
/** A graph as a model asks for it (its config and float type are the model's). */
export type SessionSpec = Omit<GraphSpec, "config" | "float" | "storage">;

export interface PooledSession {
  session: Session;
  graph: BuiltGraph;
  kind: GraphKind;
}

export class SessionPool {
  private sessions = new Map<string, Promise<PooledSession>>();

  constructor(
    private readonly open: (spec: SessionSpec) => Promise<PooledSession>,
    /** At most one live session: opening one releases the others first. */
    private readonly one = false,
  ) {}

  /** The session for a spec, opened on first use. */
  get(spec: SessionSpec): Promise<PooledSession> {
    const key = JSON.stringify(spec);
    let s = this.sessions.get(key);
    if (!s) {
      s = this.openAfterRelease(spec);
      this.sessions.set(key, s);
    }
    return s;
  }

  private async openAfterRelease(spec: SessionSpec): Promise<PooledSession> {
    // Sessions hold a snapshot of the frozen weights; full fine-tuning's sessions are fed the weights
    // and change them, so every snapshot retires before such a session opens.
    if (spec.trainable === "all") await this.releaseWhere((key) => !isFedAll(key));
    else if (this.one) await this.release();
    return this.open(spec);
  }

  /** Release every session, or those of one graph kind ("loss" before decoding, …). */
  async release(kind?: GraphKind): Promise<void> {
    await this.releaseWhere((_, k) => kind === undefined || k === kind);
  }

  private async releaseWhere(pick: (key: string, kind: GraphKind) => boolean): Promise<void> {
    for (const [key, s] of [...this.sessions]) {
      const open = await s;
      if (!pick(key, open.kind)) continue;
      this.sessions.delete(key);
      await open.session.release();
    }
  }

  /** Every live session, in opening order. */
  async live(): Promise<PooledSession[]> {
    return Promise.all(this.sessions.values());
  }
}

function isFedAll(key: string): boolean {
  return (JSON.parse(key) as SessionSpec).trainable === "all";
}
