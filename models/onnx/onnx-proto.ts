/**
 * Encoders for the ONNX messages a trained model needs, on the wire format of protobuf-writer.ts.
 *
 * Field numbers are those of the official schema, onnx/onnx.proto (syntax proto2, package onnx), read at
 * https://github.com/onnx/onnx/blob/f7546912001bc31e92a238b17068a21b373d882e/onnx/onnx.proto ; each encoder cites
 * its message. Protobuf schemas never renumber a field, and every field written here already exists in IR version 8
 * (the version the export declares).
 *
 * Encoding choices, all as the schema declares them:
 *  - fields are written in increasing field-number order, as protobuf's own serialisers do, so output is
 *    deterministic and canonical (protobufjs, decoding the known-bytes vector with onnx.proto and re-encoding it,
 *    gives back the same bytes);
 *  - `TensorProto.int64_data` and `double_data` are `[packed = true]`: one LEN record each;
 *  - `TensorProto.dims` and `AttributeProto.ints` are plain proto2 `repeated int64`, written unpacked (one tag per
 *    value);
 *  - strings are UTF-8, including `string_data` and `strings`, which the schema types as `bytes`.
 *
 * The types below are the encoder's input, not a general ONNX model: only the fields the export uses.
 */
import { ProtoWriter } from './protobuf-writer.js';

/** TensorProto.DataType (onnx.proto `enum DataType`): the element types the export uses. */
export const TensorDataType = { FLOAT: 1, INT64: 7, STRING: 8, BOOL: 9, DOUBLE: 11 } as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

/** AttributeProto.AttributeType (onnx.proto `enum AttributeType`). */
const AttributeType = { INT: 2, STRING: 3, TENSOR: 4, INTS: 7, STRINGS: 8 } as const;

/** A tensor's elements, row-major. */
export type TensorValues =
  | { readonly type: 'double'; readonly values: ArrayLike<number> }
  | { readonly type: 'int64'; readonly values: readonly number[] }
  | { readonly type: 'string'; readonly values: readonly string[] };

export interface Tensor {
  /** Set for an initializer (the value name nodes refer to); unset for an attribute's tensor. */
  readonly name?: string;
  readonly dims: readonly number[];
  readonly data: TensorValues;
}

export type Attribute = { readonly name: string } & (
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: Tensor }
);

export interface Node {
  readonly name: string;
  readonly opType: string;
  /** Operator set domain; unset means the default domain `ai.onnx`. */
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly Attribute[];
}

/** A graph input or output: a tensor of `elemType` whose dimensions are numbers or symbolic names. */
export interface ValueInfo {
  readonly name: string;
  readonly elemType: TensorDataType;
  readonly shape: readonly (number | string)[];
  readonly docString?: string;
}

export interface Graph {
  readonly name: string;
  readonly nodes: readonly Node[];
  readonly initializers: readonly Tensor[];
  readonly docString?: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

export interface OperatorSetId {
  /** `''` for the default domain `ai.onnx`. */
  readonly domain: string;
  readonly version: number;
}

export interface Model {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  readonly graph: Graph;
  readonly opsetImports: readonly OperatorSetId[];
  readonly metadataProps: readonly (readonly [key: string, value: string])[];
}

/** ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6, graph = 7, opset_import = 8,
 * metadata_props = 14. */
export function encodeModel(model: Model): Uint8Array {
  const w = new ProtoWriter().int64(1, model.irVersion).string(2, model.producerName);
  if (model.producerVersion !== undefined) w.string(3, model.producerVersion);
  if (model.docString !== undefined) w.string(6, model.docString);
  w.bytes(7, encodeGraph(model.graph));
  for (const opset of model.opsetImports) w.bytes(8, encodeOperatorSetId(opset));
  for (const [key, value] of model.metadataProps) w.bytes(14, encodeStringStringEntry(key, value));
  return w.finish();
}

/** OperatorSetIdProto: domain = 1, version = 2. */
export function encodeOperatorSetId(opset: OperatorSetId): Uint8Array {
  return new ProtoWriter().string(1, opset.domain).int64(2, opset.version).finish();
}

/** StringStringEntryProto: key = 1, value = 2. */
export function encodeStringStringEntry(key: string, value: string): Uint8Array {
  return new ProtoWriter().string(1, key).string(2, value).finish();
}

/** GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12. */
export function encodeGraph(graph: Graph): Uint8Array {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.bytes(1, encodeNode(node));
  w.string(2, graph.name);
  for (const tensor of graph.initializers) w.bytes(5, encodeTensor(tensor));
  if (graph.docString !== undefined) w.string(10, graph.docString);
  for (const input of graph.inputs) w.bytes(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.bytes(12, encodeValueInfo(output));
  return w.finish();
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7. */
export function encodeNode(node: Node): Uint8Array {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const attribute of node.attributes ?? []) w.bytes(5, encodeAttribute(attribute));
  if (node.domain !== undefined) w.string(7, node.domain);
  return w.finish();
}

/** AttributeProto: name = 1, i = 3, s = 4, t = 5, ints = 8, strings = 9, type = 20 (the discriminator). */
export function encodeAttribute(attribute: Attribute): Uint8Array {
  const w = new ProtoWriter().string(1, attribute.name);
  switch (attribute.type) {
    case 'int':
      return w.int64(3, attribute.value).int64(20, AttributeType.INT).finish();
    case 'string':
      return w.string(4, attribute.value).int64(20, AttributeType.STRING).finish();
    case 'tensor':
      return w.bytes(5, encodeTensor(attribute.value)).int64(20, AttributeType.TENSOR).finish();
    case 'ints':
      for (const value of attribute.value) w.int64(8, value);
      return w.int64(20, AttributeType.INTS).finish();
    case 'strings':
      for (const value of attribute.value) w.string(9, value);
      return w.int64(20, AttributeType.STRINGS).finish();
  }
}

/** TensorProto: dims = 1, data_type = 2, string_data = 6, int64_data = 7 (packed), name = 8, double_data = 10
 * (packed). Throws a RangeError when the element count does not match the dimensions. */
export function encodeTensor(tensor: Tensor): Uint8Array {
  const count = tensor.dims.reduce((n, d) => n * d, 1);
  if (tensor.data.values.length !== count) {
    throw new RangeError(
      `tensor ${tensor.name ?? '(attribute)'} has ${tensor.data.values.length} values for ${count}`,
    );
  }
  const w = new ProtoWriter();
  for (const dim of tensor.dims) w.int64(1, dim);
  const { data } = tensor;
  switch (data.type) {
    case 'string':
      w.int64(2, TensorDataType.STRING);
      for (const value of data.values) w.string(6, value);
      break;
    case 'int64':
      w.int64(2, TensorDataType.INT64);
      if (count > 0) w.packedInt64s(7, data.values);
      break;
    case 'double':
      w.int64(2, TensorDataType.DOUBLE);
      break;
  }
  if (tensor.name !== undefined) w.string(8, tensor.name);
  if (data.type === 'double' && count > 0) w.packedDoubles(10, data.values);
  return w.finish();
}

/** ValueInfoProto: name = 1, type = 2, doc_string = 3. */
export function encodeValueInfo(info: ValueInfo): Uint8Array {
  const w = new ProtoWriter().string(1, info.name).bytes(2, encodeTensorType(info.elemType, info.shape));
  if (info.docString !== undefined) w.string(3, info.docString);
  return w.finish();
}

/** TypeProto: tensor_type = 1 (oneof value) → TypeProto.Tensor: elem_type = 1, shape = 2 → TensorShapeProto:
 * dim = 1 → TensorShapeProto.Dimension: dim_value = 1 | dim_param = 2 (oneof value). */
function encodeTensorType(elemType: TensorDataType, shape: readonly (number | string)[]): Uint8Array {
  const shapeProto = new ProtoWriter();
  for (const dim of shape) {
    const dimension = new ProtoWriter();
    if (typeof dim === 'number') dimension.int64(1, dim);
    else dimension.string(2, dim);
    shapeProto.bytes(1, dimension.finish());
  }
  const tensorType = new ProtoWriter().int64(1, elemType).bytes(2, shapeProto.finish()).finish();
  return new ProtoWriter().bytes(1, tensorType).finish();
}
