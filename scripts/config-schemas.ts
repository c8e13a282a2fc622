/**
 * Writes the published JSON Schemas of both config files (`npm run config-schemas`), from the same
 * TypeBox schemas the services validate with. Editors that read `$schema` then check a config file
 * as the service will; scripts/test/config-schemas.test.ts fails when a written file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { projectRoot } from '../common/config-file.js';
import { metricsServerFileSchema } from '../metrics_server/src/config-schema.js';
import { generatorFileSchema } from '../telemetry_generator/src/config-schema.js';

/** Each published schema file, relative to the project, and the schema it holds. */
export const PUBLISHED_SCHEMAS: readonly { readonly path: string; readonly schema: TSchema; readonly title: string }[] = [
  { path: 'metrics_server/config/config.schema.json', schema: metricsServerFileSchema, title: 'Fabric telemetry metrics server configuration' },
  { path: 'telemetry_generator/config/config.schema.json', schema: generatorFileSchema, title: 'Fabric telemetry generator configuration' },
];

/** The file's text: draft-07 (what most editors understand), keys in the schema's order. */
export function renderPublishedSchema(schema: TSchema, title: string): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title, ...schema }, null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const { path, schema, title } of PUBLISHED_SCHEMAS) {
    writeFileSync(join(projectRoot(), path), renderPublishedSchema(schema, title));
    process.stdout.write(`wrote ${path}\n`);
  }
}
