/**
 * Loads the contracts in `proto/` at run time (no generated code to drift from them). `keepCase: false` gives
 * camelCase fields; 64-bit integers arrive as JS numbers (safe for Unix milliseconds and counters).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

const cache = new Map<string, grpc.GrpcObject>();

export function loadProto(file: string): grpc.GrpcObject {
  const cached = cache.get(file);
  if (cached) return cached;
  const definition = protoLoader.loadSync(file, {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition);
  cache.set(file, loaded);
  return loaded;
}

/** The service constructor `accord.v1.<name>` from `proto/accord/v1/<file>`. */
export function serviceOf(file: string, name: string): grpc.ServiceClientConstructor {
  const accord = loadProto(`accord/v1/${file}`)['accord'] as grpc.GrpcObject;
  const v1 = accord['v1'] as grpc.GrpcObject;
  return v1[name] as grpc.ServiceClientConstructor;
}
