// Validate an AsyncAPI document with the official parser (Avro payloads included):
// node validate.mjs FILE -> diagnostics as JSON lines, then "ok: ..."; exit 1 on any error.
import { Parser, fromFile } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const { document, diagnostics } = await fromFile(parser, process.argv[2]).parse();
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
const errors = diagnostics.filter((d) => d.severity === 0);
if (!document || errors.length > 0) {
  console.log(`invalid: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`ok: ${document.channels().length} channels, ${document.operations().length} operations, ${document.messages().length} messages`);
