import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { idOutsideVocab, readTrainRecords } from "../../harness/data/train-records.ts";
import { expectUserError, makeTmp } from "../engine/helpers-io.ts";

const tmp = makeTmp("train-records");
afterAll(tmp.cleanup);

function file(name: string, text: string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, text);
  return p;
}

describe("train records: prompt/completion or token ids, one kind per file", () => {
  it("reads token-id records with their line numbers, skipping blank lines", () => {
    const p = file(
      "ids.jsonl",
      '{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}\n\n{"labels": [-100, -100, 9], "input_ids": [4, 5, 9]}\n',
    );
    expect(readTrainRecords(p)).toEqual({
      kind: "ids",
      records: [
        { inputIds: [1, 2, 3], labels: [-100, 2, 3], line: 1 },
        { inputIds: [4, 5, 9], labels: [-100, -100, 9], line: 3 },
      ],
    });
  });

  it("reads prompt/completion records as before, extra keys ignored", () => {
    const p = file(
      "text.jsonl",
      '{"prompt": "a", "completion": " b", "id": 7}\n{"prompt": "c", "completion": ""}',
    );
    expect(readTrainRecords(p)).toEqual({
      kind: "text",
      records: [
        { prompt: "a", completion: " b", line: 1 },
        { prompt: "c", completion: "", line: 2 },
      ],
    });
  });

  it.each([
    ["empty.jsonl", "\n\n", /no examples \(empty file\)/],
    ["both.jsonl", '{"prompt": "a", "input_ids": [1], "labels": [1]}', /line 1: expected \{"prompt"/],
    ["array.jsonl", "[1, 2]", /line 1: expected/],
    ["nolabels.jsonl", '{"input_ids": [1, 2]}', /line 1: "labels" must be a list of integers, got null/],
    ["emptyids.jsonl", '{"input_ids": [], "labels": []}', /line 1: "input_ids" is empty/],
    [
      "huge.jsonl",
      '{"input_ids": [1, 1e300], "labels": [-100, 1]}',
      /input_ids\[1\] is 1e\+300, not a token id/,
    ],
    [
      "textafter.jsonl",
      '{"input_ids": [1, 2], "labels": [1, 2]}\n{"input_ids": [1, 2], "labels": [1, 2]}\n{"prompt": "a", "completion": "b"}',
      /line 3: a prompt\/completion record, but line 1 is a token-id record/,
    ],
    [
      "idsafter.jsonl",
      '{"prompt": "a", "completion": "b"}\n{"input_ids": [1], "labels": [1]}',
      /line 2: a token-id record, but line 1/,
    ],
  ])("%s → one-line UserError naming the file", (name, text, re) => {
    const p = file(name, text);
    expectUserError(() => readTrainRecords(p), p, re);
  });

  it("finds the first id at or above the vocabulary, in input_ids or labels", () => {
    const recs = [
      { inputIds: [1, 2], labels: [-100, 2], line: 1 },
      { inputIds: [3, 4], labels: [-100, 40], line: 4 },
    ];
    expect(idOutsideVocab(recs, 64)).toBeUndefined();
    expect(idOutsideVocab(recs, 32)).toEqual({ line: 4, key: "labels", index: 1, id: 40 });
    expect(idOutsideVocab(recs, 3)).toEqual({ line: 4, key: "input_ids", index: 0, id: 3 });
  });
});
