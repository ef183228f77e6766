import { chromiumPath } from "./chromium.ts";

/** Fail the whole run up front, with one clear line, when there is no browser: never pass silently. */
export default function setup(): void {
  chromiumPath();
}
