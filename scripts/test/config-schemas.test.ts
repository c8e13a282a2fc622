/**
 * The published config schemas (issue 17, item 6) are the ones the services validate with, and a
 * plain JSON Schema validator (not our wrapper) agrees with the services on the shipped files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { projectRoot } from '../../common/config-file.js';
import { PUBLISHED_SCHEMAS, renderPublishedSchema } from '../config-schemas.js';

test('each published schema file is up to date (npm run config-schemas rewrites them)', () => {
  for (const { path, schema, title } of PUBLISHED_SCHEMAS) {
    assert.equal(readFileSync(join(projectRoot(), path), 'utf8'), renderPublishedSchema(schema, title), path);
  }
});

test('an editor\'s validator accepts the shipped config files and refuses a typo and a bad value', () => {
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const cases = [
    { schema: 'metrics_server/config/config.schema.json', file: 'metrics_server/config/config.json', typo: { ingestion: { poll_interval: 5 } }, bad: { ingestion: { poll_interval_seconds: 0 } } },
    { schema: 'telemetry_generator/config/config.schema.json', file: 'telemetry_generator/config/config.json', typo: { switch: { count: 4 } }, bad: { switches: { count: 0 } } },
  ];
  for (const c of cases) {
    const validate = ajv.compile(JSON.parse(readFileSync(join(projectRoot(), c.schema), 'utf8')) as object);
    const shipped = JSON.parse(readFileSync(join(projectRoot(), c.file), 'utf8')) as { $schema: string };
    assert.equal(shipped.$schema, './config.schema.json', c.file);
    assert.equal(validate(shipped), true, `${c.file}: ${JSON.stringify(validate.errors)}`);
    assert.equal(validate(c.typo), false, `${c.schema} accepts a typo`);
    assert.equal(validate(c.bad), false, `${c.schema} accepts an out-of-range value`);
  }
});
