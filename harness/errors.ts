/**
 * Errors a user can cause (bad path, malformed file, shape mismatch, unsupported architecture).
 * The CLI prints `message` as one line and exits 2; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  /** The file (or flag/config key) the problem is about, when there is one. */
  readonly file?: string;

  constructor(message: string, file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.file = file;
  }
}

export function fail(message: string, file?: string): never {
  throw new UserError(message, file);
}

/** Convert a Node fs error (ENOENT, EISDIR, …) into a one-line user error naming the file. */
export function fsError(err: unknown, file: string): UserError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EISDIR"
        ? "is a directory, expected a file"
        : code === "ENOTDIR"
          ? "not a directory"
          : code === "EACCES"
            ? "permission denied"
            : String((err as Error)?.message ?? err);
  return new UserError(why, file);
}
