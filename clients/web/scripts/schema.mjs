// Reads the espace .proto files with protobufjs (at build and test time only)
// and turns them into the compact JSON schema that src/pb.js encodes and
// decodes with. The browser never parses .proto files and never runs
// generated code (the CSP forbids eval), so this JSON is all it gets.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROTO_DIR = path.resolve(here, '../../../proto');
export const PROTO_FILES = [
  'espace/v1/common.proto',
  'espace/v1/identity.proto',
  'espace/v1/edge.proto',
  'espace/v1/agenda.proto',
  'espace/v1/consent.proto',
  'espace/v1/messaging.proto',
  'espace/v1/content.proto',
  'espace/v1/dmp.proto',
];

/** Load the .proto files into a resolved protobufjs Root (field names as written). */
export function loadRoot() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

function walk(ns, out) {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) {
      const fields = obj.fieldsArray.map((f) => {
        const d = { name: f.name, id: f.id };
        if (f.resolvedType instanceof protobuf.Type) {
          d.type = 'message';
          d.ref = f.resolvedType.fullName.replace(/^\./, '');
        } else if (f.resolvedType instanceof protobuf.Enum) {
          d.type = 'enum';
          d.ref = f.resolvedType.fullName.replace(/^\./, '');
        } else {
          d.type = f.type;
        }
        if (f.map) throw new Error(`map fields are not supported: ${obj.fullName}.${f.name}`);
        if (f.repeated) d.repeated = true;
        if (f.partOf) d.oneof = f.partOf.name;
        return d;
      });
      out.messages[obj.fullName.replace(/^\./, '')] = { fields };
    } else if (obj instanceof protobuf.Enum) {
      out.enums[obj.fullName.replace(/^\./, '')] = { ...obj.values };
    }
    if (obj.nestedArray) walk(obj, out);
  }
}

/** The compact schema: { messages: { fullName: { fields: [...] } }, enums: { fullName: { NAME: n } } }. */
export function buildSchema(root = loadRoot()) {
  const out = { messages: {}, enums: {} };
  walk(root, out);
  return out;
}
