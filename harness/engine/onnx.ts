/**
 * The thin layer over ONNX protobuf: value types, attributes, constant tensors and model
 * serialisation (graph.ts builds with them), and writing a model with its weights in a data file.
 */
import { closeSync, fsyncSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export type DType = "float32" | "float64" | "float16" | "int64" | "int32" | "uint8" | "bool";
/** A dimension: a fixed size, or a symbol ("B", "T", "B*T") bound at run time. */
export type Dim = number | string;

const ELEM: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

const BYTES: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

export function elemType(d: DType): number {
  return ELEM[d];
}

export function elemBytes(d: DType): number {
  return BYTES[d];
}

export type AttrValue =
  | number
  | number[]
  | string
  | { float: number }
  | { floats: number[] }
  | onnxProto.onnx.ITensorProto;

export function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: Buffer.from(v, "utf8") };
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  if ("floats" in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: v };
}

export function valueInfo(name: string, dtype: DType, shape: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[dtype],
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function tensorProto(
  name: string,
  dtype: DType,
  dims: number[],
  values: number[] | bigint[],
): onnxProto.onnx.ITensorProto {
  const t: onnxProto.onnx.ITensorProto = { name, dataType: ELEM[dtype], dims };
  if (dtype === "float32") t.floatData = values as number[];
  else if (dtype === "float64") t.doubleData = values as number[];
  else if (dtype === "int64") t.int64Data = (values as (number | bigint)[]).map((x) => Number(x));
  else t.int32Data = values as number[];
  return t;
}

/**
 * An initializer whose bytes live outside the model (ONNX external data): `location` names an
 * in-memory file handed to the session (`externalData`), read from offset 0. Keeps multi-GB weights
 * out of the protobuf (2 GB cap) and lets the session use the caller's buffer.
 */
export function externalTensorProto(
  name: string,
  dtype: DType,
  dims: number[],
  location: string,
): onnxProto.onnx.ITensorProto {
  const length = dims.reduce((n, d) => n * d, 1) * BYTES[dtype];
  return {
    name,
    dataType: ELEM[dtype],
    dims,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: "0" },
      { key: "length", value: String(length) },
    ],
  };
}

export function encodeModel(graph: onnxProto.onnx.IGraphProto, opset: number): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "lora-bench",
    // com.microsoft: onnxruntime's contrib ops (MatMulNBits for 4-bit weights).
    opsetImport: [
      { domain: "", version: opset },
      { domain: "com.microsoft", version: 1 },
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Offsets of tensors in a written data file are multiples of this (a memory page: mappable). */
const DATA_ALIGN = 4096;

/**
 * Write `model` (encoded) as `<dir>/<fileName>` with the bytes of its in-memory external initializers
 * (externalTensorProto) moved into one file beside it, `<fileName>_data`, which a runtime loading
 * the model from its path reads by relative location (transformers.js's layout for large models).
 * `bytesOf(name)` gives each initializer's bytes; they are written one at a time, never gathered.
 * Optional graph inputs that shadow an initializer are dropped: the file is for inference, and a
 * runtime may treat every declared input as one it must feed. Returns the two files' sizes.
 */
export function writeModelWithData(
  model: Uint8Array,
  dir: string,
  fileName: string,
  bytesOf: (name: string) => Uint8Array,
): { model: number; data: number } {
  const m = onnx.ModelProto.decode(model);
  const graph = m.graph as onnxProto.onnx.GraphProto;
  const dataName = `${fileName}_data`;
  const fd = openSync(join(dir, dataName), "w");
  let offset = 0;
  try {
    for (const t of graph.initializer) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const bytes = bytesOf(t.name as string);
      offset = Math.ceil(offset / DATA_ALIGN) * DATA_ALIGN;
      let done = 0;
      while (done < bytes.byteLength)
        done += writeSync(fd, bytes, done, bytes.byteLength - done, offset + done);
      t.externalData = [
        onnx.StringStringEntryProto.create({ key: "location", value: dataName }),
        onnx.StringStringEntryProto.create({ key: "offset", value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: "length", value: String(bytes.byteLength) }),
      ];
      offset += bytes.byteLength;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const inits = new Set(graph.initializer.map((t) => t.name));
  graph.input = graph.input.filter((i) => !inits.has(i.name));
  const encoded = onnx.ModelProto.encode(m).finish();
  writeFileSync(join(dir, fileName), encoded);
  return { model: encoded.byteLength, data: offset };
}
