// The espace protobuf schema — the messages and enums of the .proto files
// listed in scripts/schema.mjs — as the compact JSON that src/pb.js encodes
// and decodes with and src/enums.js reads enum values from.
//
// In the app bundle, scripts/build.mjs replaces this whole module with that
// JSON, made from the .proto files at build time: the browser never parses a
// .proto file. Under Node (the unit tests) the code below makes it the same
// way, so both read one schema from one place.
const { buildSchema } = await import('../scripts/schema.mjs');

export default buildSchema();
